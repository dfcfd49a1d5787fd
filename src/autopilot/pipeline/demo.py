"""The demo: a client, a project and a content plan that run with nothing set up."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from autopilot.db import Database
from autopilot.models import Client, Project
from autopilot.pipeline import keywords, projects
from autopilot.pipeline.secretbox import create_demo_key
from autopilot.settings import Settings

DEMO_CLIENT = "Demo Bakkerij"
DEMO_PROJECT = "demo"
DEMO_KEYWORDS = (
    ("zuurdesem brood bakken", 30),
    ("beste meel voor pizza", 20),
    ("glutenvrij ontbijt ideeën", 10),
    ("croissants maken voor beginners", 5),
    ("bewaren van vers brood", 0),
)


@dataclass(frozen=True)
class DemoInfo:
    """What the demo seeded, for the welcome message."""

    client_id: int
    project_id: int
    project_slug: str
    created: bool


def seed_demo(db: Database, settings: Settings) -> DemoInfo:
    """Create the demo client and project once; later calls change nothing."""
    create_demo_key(settings)
    with db.session() as session:
        client = session.scalar(sa.select(Client).where(Client.name == DEMO_CLIENT))
        if client is not None:
            project = session.scalar(
                sa.select(Project).where(Project.client_id == client.id)
            )
            assert project is not None
            return DemoInfo(client.id, project.id, project.slug, created=False)

        client = projects.add_client(session, DEMO_CLIENT)
        project = projects.add_project(session, DEMO_PROJECT, client)
        project.site_url = "https://demo.example"
        project.writer = "offline"
        # A short pause per section lets the portal show the run's progress.
        project.writer_settings = {"section_delay_seconds": 0.4}
        project.publisher = "folder"
        project.target_words = 600
        project.schedule_cron = "0 9 * * 1-5"
        planned = [keywords.PlannedKeyword(k, p) for k, p in DEMO_KEYWORDS]
        keywords.add_keywords(session, project.id, planned)
        return DemoInfo(client.id, project.id, project.slug, created=True)
