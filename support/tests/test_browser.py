"""A real browser: Playwright driving Debian's headless Chromium against live_server."""

from pathlib import Path

import pytest

from support.models import SLATimer
from support.services import tickets
from support.tests.factories import AgentFactory, PolicyFactory, TeamFactory

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is not installed"),
]


@pytest.fixture
def page(monkeypatch):
    sync_api = pytest.importorskip("playwright.sync_api")
    # The sync API runs an event loop in this thread; scoped to this test only.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
                "--disable-sync",
            ],
        )
        yield browser.new_page()
        browser.close()


def test_agent_answers_a_ticket_with_an_ai_draft(page, live_server, settings, real_platform):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    PolicyFactory()
    team = TeamFactory(slug="care", name="Care", auto_assign=False)
    agent = AgentFactory(teams=[team], user__username="agent1")
    ticket = tickets.ticket_create(
        subject="My parcel is two weeks late",
        body="Where is my parcel? <b>Please</b> help.",
        team=team,
        requester_name="Ann Lee",
        requester_email="ann@example.com",
    )

    page.goto(f"{live_server.url}/accounts/login/?next=/support/")
    page.fill("input[name=username]", agent.user.username)
    page.fill("input[name=password]", "quimbi-agent")
    page.click("button[type=submit], input[type=submit]")
    page.goto(f"{live_server.url}/support/?view=all")
    page.click("text=My parcel is two weeks late")
    page.wait_for_selector("#customer")
    assert "Customer" in page.inner_text("#customer")
    assert "<b>Please</b>" in page.inner_text("#thread")  # shown as text, not markup
    page.click("#ai-draft")
    page.wait_for_selector("#actions")
    draft = page.input_value("textarea[name=body]")
    assert draft.strip()
    page.click("#send")
    page.wait_for_selector("text=Reply sent.")
    assert "fulfilled" in page.inner_text("#sla .timer-first_response")
    page.wait_for_load_state("networkidle")  # no request may still be in flight at teardown
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "support-ticket.png"), full_page=True)
    assert SLATimer.objects.get(ticket=ticket, metric="first_response").fulfilled_at is not None


def test_back_after_sending_shows_the_reply_and_an_empty_box(page, live_server):
    """The back button must not offer the sent reply again (a click would send it twice), and
    a long unbroken word (a pasted link) wraps instead of widening the page."""
    team = TeamFactory(slug="care", name="Care", auto_assign=False)
    agent = AgentFactory(teams=[team], user__username="agent1")
    ticket = tickets.ticket_create(subject="Refund", body="Where is my refund?", team=team)
    errors = []
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))

    page.goto(f"{live_server.url}/accounts/login/?next=/support/tickets/{ticket.pk}/")
    page.fill("input[name=username]", agent.user.username)
    page.fill("input[name=password]", "quimbi-agent")
    page.click("button[type=submit]")
    link = "https://example.com/refunds/" + "x" * 400
    page.fill("textarea[name=body]", f"Your refund is on its way: {link}")
    page.click("#send")
    page.wait_for_selector("text=Reply sent.")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    page.go_back()
    page.wait_for_load_state()
    assert page.input_value("textarea[name=body]") == ""
    assert link in page.inner_text("#thread")  # the page as it is now, not a stale copy
    page.set_viewport_size({"width": 400, "height": 800})
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.wait_for_load_state("networkidle")
    assert ticket.messages.filter(author_kind="agent").count() == 1
    assert errors == []


def test_merge_asks_first_and_a_no_changes_nothing(page, live_server):
    team = TeamFactory(slug="care", name="Care", auto_assign=False)
    agent = AgentFactory(teams=[team], user__username="agent1")
    duplicate = tickets.ticket_create(subject="Refund", body="Where is my refund?", team=team)
    original = tickets.ticket_create(subject="Refund please", body="I want my money back", team=team)
    page.goto(f"{live_server.url}/accounts/login/?next=/support/tickets/{duplicate.pk}/")
    page.fill("input[name=username]", agent.user.username)
    page.fill("input[name=password]", "quimbi-agent")
    page.click("button[type=submit]")
    page.fill("#merge-form input[name=into]", str(original.pk))
    asked = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    page.click("#merge-form button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert asked and "cannot be undone" in asked[0]
    duplicate.refresh_from_db()
    assert duplicate.merged_into_id is None
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#merge-form button[type=submit]")
    page.wait_for_selector("text=merged into")
    duplicate.refresh_from_db()
    assert duplicate.merged_into_id == original.pk
