"""The autopilot run as a job kind: plan, generate, publish, with checkpoints.

Each checkpoint is written only while the attempt still holds the job, so a
late worker can neither take a second keyword nor record a second article.
A retry finds the checkpoint and skips what is done: the article is written
once, and the publisher, keyed by the article, never makes a second post.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import nh3
import sqlalchemy as sa
from markdown_it import MarkdownIt

from autopilot.errors import AutopilotError, JobError
from autopilot.jobs.context import JobContext
from autopilot.jobs.kinds import JobKind, Stage
from autopilot.models import ACTIVE_STATUSES, Article, Job, Keyword, Project
from autopilot.pipeline.publishers import make_publisher
from autopilot.pipeline.runs import RUN_KIND
from autopilot.pipeline.secretbox import SecretBox
from autopilot.pipeline.targets import check_target_url
from autopilot.pipeline.types import ArticleBrief, ArticleToPublish, Draft
from autopilot.pipeline.writers import make_writer
from autopilot.settings import Settings

articles: sa.Table = Article.__table__  # type: ignore[assignment]
keywords: sa.Table = Keyword.__table__  # type: ignore[assignment]
jobs: sa.Table = Job.__table__  # type: ignore[assignment]

_markdown = MarkdownIt("commonmark").enable("table")
_FENCE = re.compile(r"^ {0,3}(?:```|~~~)", re.MULTILINE)
_EXECUTABLE = re.compile(
    r"<(script|style|iframe|object|embed)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL
)
_TAG = re.compile(r"</?[A-Za-z!?][^>]*>")


def strip_raw_html(markdown: str) -> str:
    """Markdown with every raw HTML tag removed, outside fenced code.

    Sites that render Markdown may pass raw HTML through, so a tag a model
    wrote is dropped (scripts and styles with their content) before the
    article is stored or published anywhere.
    """
    parts = _FENCE.split(markdown)
    for i in range(0, len(parts), 2):  # even parts lie outside code fences
        parts[i] = _TAG.sub("", _EXECUTABLE.sub("", parts[i]))
    fences = _FENCE.findall(markdown)
    out = [parts[0]]
    for fence, part in zip(fences, parts[1:], strict=True):
        out += [fence, part]
    return "".join(out)


def render_html(markdown: str) -> str:
    """Article HTML that is safe to put on a client's site: no scripts, ever."""
    return str(nh3.clean(_markdown.render(markdown)))


def word_count(markdown: str) -> int:
    return sum(1 for word in markdown.split() if any(c.isalnum() for c in word))


def autopilot_run_kind(settings: Settings) -> JobKind:
    """The ``autopilot.run`` job kind with the configured stage deadlines."""

    def run(ctx: JobContext) -> dict[str, Any]:
        return AutopilotRun(ctx, settings).execute()

    return JobKind(
        RUN_KIND,
        run,
        (
            Stage("generating", settings.generating_timeout_seconds),
            Stage("publishing", settings.publishing_timeout_seconds),
        ),
    )


class AutopilotRun:
    """One attempt at one project's run."""

    def __init__(self, ctx: JobContext, settings: Settings) -> None:
        self.ctx = ctx
        self.settings = settings
        self.db = ctx.db

    def execute(self) -> dict[str, Any]:
        try:
            return self._execute()
        except JobError:
            raise
        except AutopilotError as exc:
            # A setting that is wrong now will be wrong on every retry too.
            raise JobError(exc.code, exc.message, retryable=False) from exc

    def _execute(self) -> dict[str, Any]:
        project = self._project()
        article = self._checkpointed_article()
        if article is None:
            keyword = self._plan(project)
            article = self._generate(project, keyword)
        else:
            self.ctx.progress(100, "article already written; publishing it")

        self.ctx.advance("publishing")
        return self._publish(project, article)

    # Plan -----------------------------------------------------------------

    def _project(self) -> Project:
        if self.ctx.project_id is None:
            raise JobError("invalid_job", "This run belongs to no project.")
        with self.db.session() as session:
            project = session.get(Project, self.ctx.project_id)
        if project is None:
            raise JobError("invalid_job", "The project of this run was deleted.")
        return project

    def _checkpointed_article(self) -> dict[str, Any] | None:
        """The article an earlier attempt (or the retried job) already wrote."""
        retry_of = self.ctx.payload.get("retry_of")
        with self.ctx.checkpoint() as conn:
            if retry_of is not None:
                conn.execute(
                    sa.update(articles)
                    .where(articles.c.job_id == int(retry_of))
                    .values(job_id=self.ctx.id)
                )
            row = (
                conn.execute(
                    sa.select(articles).where(articles.c.job_id == self.ctx.id)
                )
                .mappings()
                .first()
            )
        return dict(row) if row else None

    def _plan(self, project: Project) -> dict[str, Any]:
        """Take this run's keyword: the one it already holds, or the next queued."""
        self._release_abandoned_keywords(project.id)
        retry_of = self.ctx.payload.get("retry_of")
        with self.ctx.checkpoint() as conn:
            held = [self.ctx.id] + ([int(retry_of)] if retry_of is not None else [])
            row = (
                conn.execute(
                    sa.select(keywords).where(
                        keywords.c.project_id == project.id,
                        keywords.c.job_id.in_(held),
                        keywords.c.state.in_(("in_progress", "failed")),
                    )
                )
                .mappings()
                .first()
            )
            if row is None:
                row = (
                    conn.execute(
                        sa.select(keywords)
                        .where(
                            keywords.c.project_id == project.id,
                            keywords.c.state == "queued",
                        )
                        .order_by(keywords.c.priority.desc(), keywords.c.id)
                        .limit(1)
                    )
                    .mappings()
                    .first()
                )
            if row is None:
                raise JobError(
                    "no_keywords",
                    f"Project {project.name} has no keywords left to write about. "
                    "Add keywords to its content plan, then run it again.",
                )
            conn.execute(
                sa.update(keywords)
                .where(keywords.c.id == row["id"])
                .values(state="in_progress", job_id=self.ctx.id)
            )
        self.ctx.progress(0, f"keyword: {row['keyword']}")
        return dict(row)

    def _release_abandoned_keywords(self, project_id: int) -> None:
        """Keywords held by runs that ended without publishing become failed."""
        active = sa.select(jobs.c.id).where(jobs.c.status.in_(ACTIVE_STATUSES))
        with self.db.write() as conn:
            conn.execute(
                sa.update(keywords)
                .where(
                    keywords.c.project_id == project_id,
                    keywords.c.state == "in_progress",
                    keywords.c.job_id.not_in(active),
                )
                .values(state="failed")
            )

    # Generate -------------------------------------------------------------

    def _secrets(self, project: Project) -> dict[str, str]:
        if not project.secrets:
            return {}
        return SecretBox.from_settings(self.settings).open_all(project.secrets)

    def _generate(self, project: Project, keyword: dict[str, Any]) -> dict[str, Any]:
        secrets = self._secrets(project)
        writer_settings = dict(project.writer_settings or {})
        if project.writer == "openai" and writer_settings.get("base_url"):
            check_target_url(
                str(writer_settings["base_url"]),
                allow_private=self.settings.allow_private_targets,
                what="language model URL (writer base_url)",
            )
        writer = make_writer(
            project.writer,
            writer_settings,
            {k.removeprefix("writer_"): v for k, v in secrets.items()},
        )
        brief = ArticleBrief(
            keyword=keyword["keyword"],
            language=project.language,
            tone=project.tone,
            target_words=project.target_words,
            project_name=project.name,
            site_url=project.site_url,
        )
        draft = writer.write(brief, self.ctx.progress)
        return self._save_article(project, keyword, draft, writer.name)

    def _save_article(
        self, project: Project, keyword: dict[str, Any], draft: Draft, writer: str
    ) -> dict[str, Any]:
        body = strip_raw_html(draft.body_markdown)
        values = {
            "project_id": project.id,
            "job_id": self.ctx.id,
            "keyword_id": keyword["id"],
            "keyword": keyword["keyword"],
            "title": draft.title[:300],
            "slug": draft.slug[:300],
            "meta_description": draft.meta_description[:300],
            "uid": uuid.uuid4().hex,
            "body_markdown": body,
            "body_html": render_html(body),
            "word_count": word_count(body),
            "language": project.language,
            "writer": writer,
            "prompt_tokens": draft.usage.prompt_tokens,
            "completion_tokens": draft.usage.completion_tokens,
        }
        with self.ctx.checkpoint() as conn:
            row = (
                conn.execute(articles.insert().values(values).returning(*articles.c))
                .mappings()
                .one()
            )
        return dict(row)

    # Publish --------------------------------------------------------------

    def _publish(self, project: Project, article: dict[str, Any]) -> dict[str, Any]:
        secrets = self._secrets(project)
        publisher = make_publisher(
            project.publisher,
            dict(project.publisher_settings or {}),
            {k.removeprefix("publisher_"): v for k, v in secrets.items()},
            data_dir=self.settings.data_dir,
            project_slug=project.slug,
            allow_private=self.settings.allow_private_targets,
        )
        self.ctx.progress(10, f"publishing to {publisher.name}")
        published = publisher.publish(
            ArticleToPublish(
                article_id=article["id"],
                project_id=project.id,
                idempotency_key=f"autopilot-{article['uid']}",
                title=article["title"],
                slug=article["slug"],
                meta_description=article["meta_description"],
                body_markdown=article["body_markdown"],
                body_html=article["body_html"],
                language=article["language"],
                keyword=article["keyword"],
                status=project.post_status,
                categories=tuple(project.categories or ()),
                tags=tuple(project.tags or ()),
            )
        )
        with self.ctx.checkpoint() as conn:
            conn.execute(
                sa.update(articles)
                .where(articles.c.id == article["id"])
                .values(
                    remote_id=published.remote_id,
                    remote_url=published.url,
                    published_at=self.db.now(),
                )
            )
            if article["keyword_id"] is not None:
                conn.execute(
                    sa.update(keywords)
                    .where(keywords.c.id == article["keyword_id"])
                    .values(state="used", used_at=self.db.now())
                )
        self.ctx.progress(100, "published")
        return {
            "articleId": article["id"],
            "title": article["title"],
            "url": published.url,
        }
