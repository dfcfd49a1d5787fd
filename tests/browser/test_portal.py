"""The portal in real Chromium: Nu uitvoeren, live statuses, a worker that
dies mid-run, and two tabs that agree."""

from __future__ import annotations

import re
import signal
import time

import pytest
from browser_support import ARTIFACTS, EMAIL, PASSWORD, Site
from playwright.sync_api import BrowserContext, Page, expect

pytestmark = [pytest.mark.browser, pytest.mark.slow]

RUN_TIMEOUT_MS = 60_000

# Every status the page has shown for any job, and every announcement made.
RECORDER = """
window.__seen = [];
window.__announced = [];
new MutationObserver((changes) => {
  for (const change of changes) {
    for (const node of [change.target, ...change.addedNodes]) {
      if (node.nodeType === 1 && node.matches('li.job')) {
        window.__seen.push(node.dataset.status);
      }
    }
    const t = change.target;
    const where = t.nodeType === 1 ? t : t.parentNode;
    if (where && where.id === 'announcer') {
      const text = document.getElementById('announcer').textContent;
      if (text) window.__announced.push(text);
    }
  }
}).observe(document, {subtree: true, childList: true, attributes: true,
                      attributeFilter: ['data-status'], characterData: true});
"""


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def log_in_and_choose_project(page: Page, site: Site) -> None:
    page.goto(f"{site.url}/client-portal/autopilot")
    expect(page).to_have_url(re.compile(r"/login"))
    page.get_by_label("E-mailadres").fill(EMAIL)
    page.get_by_label("Wachtwoord").fill(PASSWORD)
    page.get_by_role("button", name="Inloggen").click()
    expect(page).to_have_url(re.compile(r"/client-portal/autopilot"))
    page.get_by_label("Project").select_option(label="Demo bakkerij")
    page.get_by_role("button", name="Toon project").click()
    expect(
        page.get_by_role("heading", name=re.compile("Demo bakkerij"))
    ).to_be_visible()
    page.evaluate(RECORDER)
    page.evaluate("window.__sameDocument = true")


def run_now(page: Page) -> None:
    page.get_by_role("button", name="Nu uitvoeren").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Autopilot nu uitvoeren?")
    shot(page, "02-confirm-dialog")
    dialog.get_by_role("button", name="Bevestig").click()


def newest_job(page: Page):  # type: ignore[no-untyped-def]
    return page.locator("#job-list li.job").first


def test_run_now_shows_the_job_move_through_its_statuses_live(
    page: Page, site: Site
) -> None:
    """Log in, choose the project, Nu uitvoeren, Bevestig: the job goes from
    pending through generating and publishing to completed, without a reload."""
    log_in_and_choose_project(page, site)
    shot(page, "01-portal-ready")
    run_now(page)

    job = newest_job(page)
    expect(job).to_have_attribute("data-status", "generating", timeout=RUN_TIMEOUT_MS)
    expect(page.get_by_role("button", name="Nu uitvoeren")).to_be_disabled()
    expect(page.locator("#run-state")).to_contain_text(
        re.compile(r"Bezig sinds \d\d:\d\d · schrijven \d+%")
    )
    expect(job.locator("progress")).to_be_visible()
    shot(page, "03-generating")

    expect(job).to_have_attribute("data-status", "completed", timeout=RUN_TIMEOUT_MS)
    expect(job).to_contain_text("Voltooid")
    expect(job.locator(".job-article a")).to_be_visible()
    expect(page.get_by_role("button", name="Nu uitvoeren")).to_be_enabled()
    expect(page.locator("#last-result")).to_contain_text("Voltooid")
    shot(page, "04-completed")

    assert page.evaluate("window.__sameDocument") is True, "the page reloaded"
    seen = page.evaluate("window.__seen")
    assert "generating" in seen
    assert seen[-1] == "completed"
    announced = " ".join(page.evaluate("window.__announced"))
    for word in ("Schrijven", "Publiceren", "Voltooid"):
        assert word in announced, announced


def test_killed_worker_job_is_recovered_with_its_reason_live(
    page: Page, split_site: Site
) -> None:
    """Kill the worker mid-run: within the lease the page shows the job back
    in the queue with the reason, and the button is usable again."""
    worker = split_site.start_worker()
    log_in_and_choose_project(page, split_site)
    run_now(page)
    job = newest_job(page)
    expect(job).to_have_attribute("data-status", "generating", timeout=RUN_TIMEOUT_MS)
    expect(page.get_by_role("button", name="Nu uitvoeren")).to_be_disabled()

    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=10)
    killed_at = time.monotonic()

    expect(job).to_have_attribute("data-status", "pending", timeout=15_000)
    recovered_after = time.monotonic() - killed_at
    expect(job.locator("[data-role=error]")).to_contain_text(
        "De verwerker van deze run viel weg."
    )
    job.locator("[data-role=error] summary").click()
    expect(job.locator("[data-role=error]")).to_contain_text("is gone")
    expect(page.get_by_role("button", name="Nu uitvoeren")).to_be_enabled()
    shot(page, "05-worker-lost-recovered")
    assert recovered_after < 3 + 2, f"recovered after {recovered_after:.1f} s"
    assert page.evaluate("window.__sameDocument") is True


def test_a_run_started_in_one_tab_appears_in_the_other(
    context: BrowserContext, site: Site
) -> None:
    """Two tabs of the same user: a run started in one shows up in the other."""
    first = context.new_page()
    log_in_and_choose_project(first, site)
    second = context.new_page()
    second.goto(f"{site.url}/client-portal/autopilot?project={site.project_id}")
    second.evaluate(RECORDER)
    expect(second.locator("#live-indicator")).to_have_attribute("data-state", "open")

    run_now(first)
    expect(newest_job(second)).to_have_attribute(
        "data-status", re.compile("pending|generating"), timeout=RUN_TIMEOUT_MS
    )
    expect(second.get_by_role("button", name="Nu uitvoeren")).to_be_disabled(
        timeout=RUN_TIMEOUT_MS
    )
    shot(second, "06-second-tab")
    expect(newest_job(second)).to_have_attribute(
        "data-status", "completed", timeout=RUN_TIMEOUT_MS
    )


@pytest.mark.parametrize("width", [1280, 375])
def test_portal_pages_fit_the_screen(page: Page, site: Site, width: int) -> None:
    """At 1280 and 375 px nothing scrolls sideways; screenshots for the record."""
    page.set_viewport_size({"width": width, "height": 900})
    log_in_and_choose_project(page, site)
    for name, path in (
        ("autopilot", f"/client-portal/autopilot?project={site.project_id}"),
        ("projects", f"/client-portal/projects?project={site.project_id}"),
    ):
        page.goto(site.url + path)
        root = "document.documentElement"
        overflow = page.evaluate(f"{root}.scrollWidth - {root}.clientWidth")
        assert overflow <= 0, f"{name} scrolls sideways at {width} px"
        shot(page, f"10-{name}-{width}")


def test_keyboard_alone_can_start_a_run(page: Page, site: Site) -> None:
    """Tab to Nu uitvoeren, Enter, Tab to Bevestig, Enter: the run starts."""
    log_in_and_choose_project(page, site)
    page.get_by_role("button", name="Nu uitvoeren").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("dialog")).to_be_visible()
    expect(page.get_by_role("button", name="Annuleren")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Bevestig")).to_be_focused()
    page.keyboard.press("Enter")
    expect(newest_job(page)).to_be_visible(timeout=RUN_TIMEOUT_MS)
    expect(page.locator("#announcer")).to_have_attribute("aria-live", "polite")
