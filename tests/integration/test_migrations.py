"""The migrations build exactly the schema the models describe."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from autopilot.db import Database
from autopilot.errors import DatabaseError
from autopilot.models import Base


def test_migrated_schema_matches_the_models(db: Database) -> None:
    """Autogenerate finds nothing to change after `db upgrade`."""
    with db.read() as conn:
        context = MigrationContext.configure(conn)
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


def test_upgrade_twice_changes_nothing(db: Database) -> None:
    """A second upgrade on a current database is a no-op."""
    before, after = db.upgrade()
    assert before == after == db.head_revision()


def test_unmigrated_database_is_refused_with_the_command_to_run(tmp_path) -> None:
    """A database without tables names `autopilot db upgrade` in its error."""
    db = Database(f"sqlite:///{tmp_path / 'empty.db'}")
    with pytest.raises(DatabaseError, match="autopilot db upgrade"):
        db.require_current_schema()
    db.dispose()
