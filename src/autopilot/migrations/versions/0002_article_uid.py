"""articles.uid: a key unique across installations, for idempotent publishing

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("articles", schema=None) as batch_op:
        batch_op.add_column(sa.Column("uid", sa.String(length=32), nullable=True))

    articles = sa.table("articles", sa.column("id", sa.Integer), sa.column("uid"))
    connection = op.get_bind()
    for (article_id,) in connection.execute(sa.select(articles.c.id)).all():
        connection.execute(
            articles.update()
            .where(articles.c.id == article_id)
            .values(uid=uuid.uuid4().hex)
        )

    with op.batch_alter_table("articles", schema=None) as batch_op:
        batch_op.alter_column("uid", existing_type=sa.String(length=32), nullable=False)
        batch_op.create_unique_constraint(batch_op.f("uq_articles_uid"), ["uid"])


def downgrade() -> None:
    with op.batch_alter_table("articles", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_articles_uid"), type_="unique")
        batch_op.drop_column("uid")
