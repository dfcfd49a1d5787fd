"""Records to API JSON: jobs with their articles, events, projects."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from autopilot.db import Database
from autopilot.jobs.records import EventRecord, JobRecord, jobs_table
from autopilot.models import FINISHED_STATUSES, Article, Project
from autopilot.pipeline.scheduler import next_run_at

articles: sa.Table = Article.__table__  # type: ignore[assignment]


def _article_from_result(result: dict[str, Any] | None) -> dict[str, Any] | None:
    if not result or "title" not in result:
        return None
    article_id = result.get("articleId")
    return {
        "id": article_id if isinstance(article_id, int) else None,
        "title": str(result["title"]),
        "url": str(result["url"]) if result.get("url") else None,
    }


def articles_by_job(db: Database, job_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """The article each job wrote so far, in one query."""
    if not job_ids:
        return {}
    query = sa.select(
        articles.c.job_id, articles.c.id, articles.c.title, articles.c.remote_url
    ).where(articles.c.job_id.in_(list(job_ids)))
    with db.read() as conn:
        rows = conn.execute(query).all()
    return {
        row.job_id: {"id": row.id, "title": row.title, "url": row.remote_url}
        for row in rows
    }


def job_json(job: JobRecord, article: dict[str, Any] | None = None) -> dict[str, Any]:
    """One job as the API shows it; the run's own result names its article."""
    return {
        **job.public_fields(),
        "article": _article_from_result(job.result) or article,
    }


def jobs_json(db: Database, found: Sequence[JobRecord]) -> list[dict[str, Any]]:
    """Jobs as the API shows them, with one query for all their articles."""
    missing = [job.id for job in found if _article_from_result(job.result) is None]
    by_job = articles_by_job(db, missing)
    return [job_json(job, by_job.get(job.id)) for job in found]


def event_json(event: EventRecord) -> dict[str, Any]:
    return event.public_fields()


def json_ready(value: Any) -> Any:
    """Datetimes as ISO 8601 text, recursively, for JSON outside FastAPI."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, dict):
        return {k: json_ready(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_ready(v) for v in value]
    return value


def project_summaries(
    db: Database, projects: Sequence[Project], now: datetime
) -> list[dict[str, Any]]:
    """Projects with their active and last finished job, in three queries."""
    ids = [p.id for p in projects]
    active: dict[int, JobRecord] = {}
    last: dict[int, JobRecord] = {}
    if ids:
        newest_finished = (
            sa.select(sa.func.max(jobs_table.c.id))
            .where(
                jobs_table.c.project_id.in_(ids),
                jobs_table.c.status.in_(FINISHED_STATUSES),
            )
            .group_by(jobs_table.c.project_id)
        )
        query = sa.select(jobs_table).where(
            sa.or_(
                sa.and_(
                    jobs_table.c.project_id.in_(ids),
                    jobs_table.c.status.in_(("pending", "running")),
                ),
                jobs_table.c.id.in_(newest_finished),
            )
        )
        with db.read() as conn:
            rows = conn.execute(query).mappings().all()
        for row in rows:
            job = JobRecord.from_row(row)
            assert job.project_id is not None
            (active if job.is_active else last)[job.project_id] = job
    shown = jobs_json(db, [*active.values(), *last.values()])
    by_id = {job["id"]: job for job in shown}
    return [
        {
            "id": p.id,
            "name": p.name,
            "slug": p.slug,
            "clientId": p.client_id,
            "siteUrl": p.site_url,
            "language": p.language,
            "timezone": p.timezone,
            "autopilotEnabled": p.autopilot_enabled,
            "schedule": p.schedule_cron,
            "nextRunAt": next_run_at(p, now),
            "activeJob": by_id[active[p.id].id] if p.id in active else None,
            "lastJob": by_id[last[p.id].id] if p.id in last else None,
        }
        for p in projects
    ]
