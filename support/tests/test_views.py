from html.parser import HTMLParser

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from support.models import Agent, SLATimer, Ticket
from support.services import tickets
from support.tests.factories import AgentFactory, MacroFactory, PolicyFactory, TeamFactory

pytestmark = pytest.mark.django_db
XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


@pytest.fixture
def team():
    return TeamFactory(slug="care", name="Care", auto_assign=False)


@pytest.fixture
def agent(team):
    return AgentFactory(teams=[team])


@pytest.fixture
def agent_client(agent):
    c = Client()
    c.force_login(agent.user)
    return c


def _make(team, n, **kw):
    return [
        tickets.ticket_create(subject=f"Issue {i} {XSS}", body=XSS, team=team, requester_name=XSS, **kw)
        for i in range(n)
    ]


def test_login_required(client):
    resp = client.get("/support/")
    assert resp.status_code == 302 and "/accounts/login/" in resp["Location"]


def test_non_agent_is_refused(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("plain", password="x-pass-123"))
    assert client.get("/support/").status_code == 403


def test_queue_query_count_does_not_grow(agent_client, team):
    PolicyFactory()
    _make(team, 3)
    with CaptureQueriesContext(connection) as few:
        assert agent_client.get("/support/?view=all").status_code == 200
    _make(team, 20)
    with CaptureQueriesContext(connection) as many:
        resp = agent_client.get("/support/?view=all&sort=due")
    assert resp.status_code == 200
    assert len(many) == len(few)
    html = resp.content.decode()
    assert "<script>alert" not in html and "&lt;script&gt;" in html
    assert 'data-due="' in html


def test_queue_views_and_filters(agent_client, agent, team):
    t1, t2 = _make(team, 2)
    tickets.ticket_update(ticket=t2, priority="urgent")
    Ticket.objects.filter(pk=t1.pk).update(assignee=agent)
    mine = agent_client.get("/support/?view=mine").context["page"].object_list
    assert [t.pk for t in mine] == [t1.pk]
    unassigned = agent_client.get("/support/?view=unassigned").context["page"].object_list
    assert [t.pk for t in unassigned] == [t2.pk]
    urgent = agent_client.get("/support/?view=all&priority=urgent").context["page"].object_list
    assert [t.pk for t in urgent] == [t2.pk]


def test_the_all_view_lists_work_to_do_before_solved_tickets(agent_client, team):
    solved, waiting = _make(team, 2)
    Ticket.objects.filter(pk=solved.pk).update(value_at_risk=99, status="solved")
    Ticket.objects.filter(pk=waiting.pk).update(value_at_risk=1)
    for sort in ("value", "due", "new"):
        listed = agent_client.get(f"/support/?view=all&sort={sort}").context["page"].object_list
        assert [t.pk for t in listed] == [waiting.pk, solved.pk], sort


def test_other_teams_ticket_is_404(agent_client):
    other = _make(TeamFactory(slug="other"), 1)[0]
    assert agent_client.get(f"/support/tickets/{other.pk}/").status_code == 404
    assert (
        agent_client.post(f"/support/tickets/{other.pk}/reply", {"body": "x", "kind": "public"}).status_code
        == 404
    )


def test_ticket_page_escapes_and_reply_fulfils_frt(agent_client, team):
    PolicyFactory()
    ticket = _make(team, 1)[0]
    tickets.message_add(ticket=ticket, body="secret " + XSS, author_kind="agent", kind="internal")
    html = agent_client.get(f"/support/tickets/{ticket.pk}/").content.decode()
    assert "<script>alert" not in html and "onerror=alert" not in html.replace("onerror=alert(1)&gt;", "")
    assert (
        "Internal note" in html and "intelligence unavailable" in html.lower()
    ) or "No platform customer" in html
    resp = agent_client.post(
        f"/support/tickets/{ticket.pk}/reply", {"body": "We are on it", "kind": "public"}
    )
    assert resp.status_code == 302
    assert SLATimer.objects.get(ticket=ticket, metric="first_response").fulfilled_at is not None


def test_csrf_is_enforced(agent, team):
    ticket = _make(team, 1)[0]
    c = Client(enforce_csrf_checks=True)
    c.force_login(agent.user)
    assert c.post(f"/support/tickets/{ticket.pk}/reply", {"body": "x", "kind": "public"}).status_code == 403


def test_update_form_changes_status_priority_assignee_tags(agent_client, agent, team):
    ticket = _make(team, 1)[0]
    resp = agent_client.post(
        f"/support/tickets/{ticket.pk}/update",
        {"status": "pending", "priority": "high", "assignee": agent.pk, "tags": "vip, refund"},
    )
    assert resp.status_code == 302
    ticket.refresh_from_db()
    assert (ticket.status, ticket.priority, ticket.assignee, ticket.tags) == (
        "pending",
        "high",
        agent,
        ["refund", "vip"],
    )


def test_macro_fills_reply_box(agent_client, team):
    ticket = tickets.ticket_create(subject="Hello", body="Hi", team=team, requester_name="Ann")
    macro = MacroFactory()
    html = agent_client.get(f"/support/tickets/{ticket.pk}/?macro={macro.pk}").content.decode()
    assert f"Hi Ann, thanks for writing about #{ticket.pk}." in html


def test_ai_draft_fills_reply_box_escaped(agent_client, team, monkeypatch):
    from generation.interface import GeneratedMessage, SuggestedAction
    from support import platform

    ticket = _make(team, 1)[0]
    msg = GeneratedMessage(
        subject="",
        body="Sorry! " + XSS,
        notes="",
        goal="resolve_support_issue",
        channel="email",
        tone="empathetic",
        backend="offline",
        model="template",
    )
    monkeypatch.setattr(platform.InProcessPlatformClient, "message_draft", lambda self, **kw: msg)
    monkeypatch.setattr(
        platform.InProcessPlatformClient,
        "actions_suggest",
        lambda self, **kw: [
            SuggestedAction(action="refund", title="Refund " + XSS, priority=1, reason="late")
        ],
    )
    html = agent_client.post(f"/support/tickets/{ticket.pk}/draft", follow=True).content.decode()
    assert "Sorry! &lt;script&gt;" in html and "Refund &lt;script&gt;" in html
    assert "<script>alert" not in html


def test_dashboard_status_toggle_and_assign_next(agent_client, agent, team):
    ticket = _make(team, 1)[0]
    assert agent_client.get("/support/dashboard/").status_code == 200
    agent_client.post("/support/dashboard/status", {"status": "away"})
    agent.refresh_from_db()
    assert agent.status == Agent.Status.AWAY
    resp = agent_client.post("/support/dashboard/assign-next")
    assert resp.status_code == 302 and resp["Location"] == f"/support/tickets/{ticket.pk}/"
    resp = agent_client.post("/support/dashboard/assign-next", follow=True)
    assert "No ticket is waiting" in resp.content.decode()


def test_teams_and_report_pages(agent_client, agent, team):
    PolicyFactory()
    ticket = _make(team, 1)[0]
    Ticket.objects.filter(pk=ticket.pk).update(assignee=agent)
    tickets.message_add(ticket=ticket, body="hi", author_kind="agent", agent=agent)
    assert agent.user.username in agent_client.get("/support/teams/").content.decode()
    resp = agent_client.get("/support/reports/")
    assert resp.status_code == 200
    assert resp.context["report"]["medians"]["first_response"]["count"] == 1
    assert resp.context["report"]["teams"]["Care"]["compliance"] == 100.0


def test_ai_draft_with_the_real_generation_platform(agent_client, team, real_platform):
    """Generation runs offline in tests; without intelligence the ticket snapshot is the profile."""
    ticket = tickets.ticket_create(
        subject="Parcel late",
        body="Where is my parcel? It is two weeks late.",
        team=team,
        requester_name="Ann",
    )
    resp = agent_client.post(f"/support/tickets/{ticket.pk}/draft", follow=True)
    draft = resp.context["draft"]
    assert draft["available"] is True and draft["draft"]["body"]
    assert resp.context["reply_form"].initial["body"] == draft["draft"]["body"]
    assert draft["actions"]


def test_ai_draft_knows_the_ticket_priority_and_the_customer_name(agent_client, team, real_platform):
    ticket = tickets.ticket_create(
        subject="Parcel late",
        body="Where is my parcel?",
        team=team,
        requester_name="Ann Lee",
        priority="urgent",
    )
    draft = agent_client.post(f"/support/tickets/{ticket.pk}/draft", follow=True).context["draft"]
    assert "prioritise_reply" in [a["action"] for a in draft["actions"]]
    assert "Ann" in draft["draft"]["body"]


def test_ticket_page_query_count_does_not_grow_with_the_thread(agent_client, agent, team):
    PolicyFactory()
    ticket = _make(team, 1)[0]
    tickets.message_add(ticket=ticket, body="a", author_kind="agent", agent=agent)
    with CaptureQueriesContext(connection) as few:
        agent_client.get(f"/support/tickets/{ticket.pk}/")
    for i in range(10):
        tickets.message_add(
            ticket=ticket, body=f"m{i}", author_kind="agent" if i % 2 else "customer", agent=agent
        )
    with CaptureQueriesContext(connection) as many:
        agent_client.get(f"/support/tickets/{ticket.pk}/")
    assert len(many) == len(few)


def test_report_shows_a_zero_median_and_a_dash_only_without_data():
    from django.template.loader import render_to_string

    def median(value):
        return {"business_minutes": value, "calendar_minutes": value, "count": 3 if value is not None else 0}

    report = {"medians": {"first_response": median(0.0), "resolution": median(None)}, "compliance": 0.0}
    html = render_to_string(
        "support/report.html", {"report": {**report, "teams": {}, "agents": {}, "total": 3}}
    )
    assert "Median first response: <strong>0.0</strong>" in html  # answered at once, not "no data"
    assert "Median resolution: <strong>—</strong>" in html
    assert "Overall SLA compliance: 0.0%" in html


def test_team_lead_without_an_agent_profile_works_in_the_agent_pages(client, team, django_user_model):
    """A lead oversees their teams: queue, dashboard, teams and report (it was 403 for them)."""
    lead = django_user_model.objects.create_user("lead", password="x-pass-123")
    team.lead = lead
    team.save()
    ticket = _make(team, 1)[0]
    hidden = _make(TeamFactory(slug="other"), 1)[0]
    client.force_login(lead)
    queue = client.get("/support/")
    assert queue.status_code == 200
    assert [t.pk for t in queue.context["page"].object_list] == [ticket.pk]
    assert hidden.pk not in [t.pk for t in queue.context["page"].object_list]
    for url in ("/support/dashboard/", "/support/teams/", "/support/reports/"):
        assert client.get(url).status_code == 200, url
    assert "Care" in client.get("/support/teams/").content.decode()
    assert client.get(f"/support/tickets/{hidden.pk}/").status_code == 404
    # The lead's note carries their name, though they have no agent profile.
    client.post(f"/support/tickets/{ticket.pk}/reply", {"body": "Please prioritise", "kind": "internal"})
    thread = client.get(f"/support/tickets/{ticket.pk}/").content.decode()
    assert "Internal note · agent lead ·" in thread


def test_the_same_reply_form_sent_twice_stores_one_reply(agent_client, team):
    """A double click, the back button or a retried POST sends the same form again."""
    ticket = _make(team, 1)[0]
    token = agent_client.get(f"/support/tickets/{ticket.pk}/").context["reply_form"].initial["client_token"]
    form = {"body": "We are on it", "kind": "public", "status": "pending", "client_token": token}
    first = agent_client.post(f"/support/tickets/{ticket.pk}/reply", form, follow=True)
    assert "Reply sent." in first.content.decode()
    tickets.ticket_status_set(ticket=ticket, status="open")  # moved on since: the resend changes nothing
    again = agent_client.post(f"/support/tickets/{ticket.pk}/reply", form, follow=True)
    assert again.redirect_chain == [(f"/support/tickets/{ticket.pk}/", 302)]
    assert "already sent" in again.content.decode()
    assert ticket.messages.filter(author_kind="agent").count() == 1
    ticket.refresh_from_db()
    assert ticket.status == "open"
    # A new page has a new form: the same words may be sent again on purpose.
    token2 = agent_client.get(f"/support/tickets/{ticket.pk}/").context["reply_form"].initial["client_token"]
    assert token2 != token
    agent_client.post(f"/support/tickets/{ticket.pk}/reply", {**form, "client_token": token2})
    assert ticket.messages.filter(author_kind="agent").count() == 2


def test_ai_draft_is_post_redirect_get_and_shown_once(agent_client, team, monkeypatch):
    """Reloading or going back to the draft never asks the platform again (nor resends a form)."""
    from generation.interface import GeneratedMessage
    from support import platform

    calls = []
    msg = GeneratedMessage(
        subject="",
        body="Sorry for the wait.",
        notes="",
        goal="resolve_support_issue",
        channel="email",
        tone="empathetic",
        backend="offline",
        model="template",
    )
    monkeypatch.setattr(
        platform.InProcessPlatformClient, "message_draft", lambda self, **kw: calls.append(1) or msg
    )
    monkeypatch.setattr(platform.InProcessPlatformClient, "actions_suggest", lambda self, **kw: [])
    ticket = _make(team, 1)[0]
    resp = agent_client.post(f"/support/tickets/{ticket.pk}/draft")
    assert resp.status_code == 302 and resp["Location"] == f"/support/tickets/{ticket.pk}/"
    page = agent_client.get(resp["Location"])
    assert page.context["reply_form"].initial["body"] == "Sorry for the wait."
    assert "no-store" in page["Cache-Control"]  # "back" asks the server, not a stale copy
    assert agent_client.get(resp["Location"]).context["reply_form"].initial["body"] == ""
    assert calls == [1]


def test_macro_fills_the_reply_and_the_status_it_sets(agent_client, team):
    ticket = tickets.ticket_create(subject="Hello", body="Hi", team=team, requester_name="Ann")
    solved = MacroFactory(name="Solved", body="All done, {requester_name}.", set_status="solved")
    form = agent_client.get(f"/support/tickets/{ticket.pk}/?macro={solved.pk}").context["reply_form"]
    assert (form.initial["body"], form.initial["status"]) == ("All done, Ann.", "solved")
    elsewhere = MacroFactory(name="Other team's", team=TeamFactory(slug="other"))
    form = agent_client.get(f"/support/tickets/{ticket.pk}/?macro={elsewhere.pk}").context["reply_form"]
    assert (form.initial["body"], form.initial["status"]) == ("", "")


def test_a_closed_ticket_takes_no_reply_and_offers_no_reply_form(agent_client, team):
    ticket = _make(team, 1)[0]
    tickets.ticket_status_set(ticket=ticket, status="closed")
    resp = agent_client.post(
        f"/support/tickets/{ticket.pk}/reply", {"body": "Hello again", "kind": "public"}, follow=True
    )
    html = resp.content.decode()
    assert "A closed ticket cannot change" in html and 'id="closed-notice"' in html
    assert 'id="reply-form"' not in html
    assert not ticket.messages.filter(author_kind="agent").exists()


class _Fields(HTMLParser):
    """Form fields, the labels naming them, and every id of a page."""

    def __init__(self):
        super().__init__()
        self.fields, self.label_for, self.ids, self.open_labels = [], set(), [], 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.append(a["id"])
        if tag == "label":
            self.open_labels += 1
            if a.get("for"):
                self.label_for.add(a["for"])
        elif tag in ("input", "select", "textarea") and a.get("type") != "hidden":
            self.fields.append((a.get("name"), a.get("id"), self.open_labels > 0 or "aria-label" in a))

    def handle_endtag(self, tag):
        if tag == "label":
            self.open_labels -= 1


def test_every_field_of_the_agent_pages_has_a_label_and_ids_are_unique(agent_client, team):
    MacroFactory()
    ticket = _make(team, 1)[0]
    for url in ("/support/?view=all", f"/support/tickets/{ticket.pk}/", "/support/dashboard/"):
        page = _Fields()
        page.feed(agent_client.get(url).content.decode())
        unlabelled = [name for name, id_, wrapped in page.fields if not wrapped and id_ not in page.label_for]
        assert unlabelled == [], url
        assert len(page.ids) == len(set(page.ids)), url


def test_history_reads_as_what_happened(agent_client, agent, team):
    ticket = _make(team, 1)[0]
    agent_client.post(
        f"/support/tickets/{ticket.pk}/update",
        {"status": "open", "priority": "high", "assignee": agent.pk, "tags": ""},
    )
    agent_client.post(f"/support/tickets/{ticket.pk}/reply", {"body": "Noted", "kind": "internal"})
    html = agent_client.get(f"/support/tickets/{ticket.pk}/").content.decode()
    section = html[html.index('id="history"') :]
    for line in (
        "created the ticket",
        "added an internal note",
        f"assigned to {agent.user.username}",
        "priority normal → high",
    ):
        assert line in section, line
    assert "message internal" not in section
