"""Agent pages: thin views (parse -> selector/service -> render). Login required, CSRF on.

Every POST that did something answers with a redirect (POST-redirect-GET): reloading or
going back never sends a form again (a reply form refused as invalid is shown again, 400).
The pages themselves are not cached, so "back" shows the ticket as it is now.
"""

import uuid
from datetime import timedelta

from django.contrib import messages as flash
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponseForbidden
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from support import selectors
from support.errors import NoEligibleTicket, SupportError, TicketNotFound
from support.forms import MergeForm, QueueFilterForm, ReplyForm, TicketUpdateForm
from support.models import Agent
from support.services import assist, reporting, routing, tickets

PAGE_SIZE = 25
DRAFTS = "support_drafts"  # session key: AI drafts asked for, shown once on the ticket page


def _ticket_or_404(request, ticket_id: int):
    try:
        return selectors.ticket_get(ticket_id=ticket_id, user=request.user)
    except TicketNotFound as exc:
        raise Http404("No such ticket.") from exc


def _agent_or_403(request):
    if not selectors.may_use_agent_pages(user=request.user):
        return None, HttpResponseForbidden("Support pages are for agents and team leads.")
    return selectors.agent_for_user(user=request.user), None


@login_required
@never_cache
def queue(request):
    agent, denied = _agent_or_403(request)
    if denied:
        return denied
    view = request.GET.get("view", "mine" if agent else "all")
    view = view if view in selectors.QUEUE_VIEWS else "all"
    form = QueueFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    qs = selectors.queue(user=request.user, view=view, filters=filters, sort=filters.get("sort") or "value")
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    return render(
        request,
        "support/queue.html",
        {
            "page": page,
            "view": view,
            "views": selectors.QUEUE_VIEWS,
            "form": form,
            "agent": agent,
            "querystring": params.urlencode(),
            "now": timezone.now(),
        },
    )


def _ticket_context(request, ticket, *, reply_form=None, draft=None):
    agent = selectors.agent_for_user(user=request.user)
    macro_id = request.GET.get("macro", "")
    reply = {"body": "", "status": "", "client_token": uuid.uuid4().hex}
    macro = selectors.macro_get(ticket=ticket, macro_id=int(macro_id)) if macro_id.isdigit() else None
    if macro is not None:
        reply.update(
            body=tickets.macro_render(macro=macro, ticket=ticket, agent=agent), status=macro.set_status
        )
    if draft is not None and draft["draft"] is not None:
        reply["body"] = draft["draft"]["body"]
    team_agents = (
        Agent.objects.select_related("user").filter(teams=ticket.team_id)
        if ticket.team_id
        else (Agent.objects.select_related("user").none())
    )
    return {
        "ticket": ticket,
        "thread": selectors.ticket_thread(ticket=ticket),
        "timers": selectors.ticket_timers(ticket=ticket),
        "history": selectors.ticket_history(ticket=ticket),
        "macros": selectors.macros_for(ticket=ticket),
        "other_tickets": selectors.customer_other_tickets(ticket=ticket, user=request.user),
        "customer": assist.customer_panel(ticket=ticket),
        "reply_form": reply_form or ReplyForm(initial=reply),
        "update_form": TicketUpdateForm(
            agents=team_agents,
            status_now=ticket.status,
            initial={
                "status": ticket.status,
                "priority": ticket.priority,
                "assignee": ticket.assignee_id,
                "tags": ", ".join(ticket.tags or []),
            },
        ),
        "merge_form": MergeForm(),
        "draft": draft,
        "agent": agent,
        "now": timezone.now(),
    }


@login_required
@never_cache
def ticket_detail(request, ticket_id: int):
    ticket = _ticket_or_404(request, ticket_id)
    draft = request.session.get(DRAFTS, {}).get(str(ticket.pk))
    if draft is not None:  # shown once, like a flash message
        request.session[DRAFTS] = {k: v for k, v in request.session[DRAFTS].items() if k != str(ticket.pk)}
    return render(request, "support/ticket.html", _ticket_context(request, ticket, draft=draft))


@login_required
@require_POST
def ticket_reply(request, ticket_id: int):
    ticket = _ticket_or_404(request, ticket_id)
    form = ReplyForm(request.POST)
    if not form.is_valid():
        return render(
            request, "support/ticket.html", _ticket_context(request, ticket, reply_form=form), status=400
        )
    data = form.cleaned_data
    try:
        _message, created = tickets.ticket_reply(
            ticket=ticket,
            body=data["body"],
            kind=data["kind"],
            status=data["status"],
            agent=selectors.agent_for_user(user=request.user),
            user=request.user,
            client_token=data["client_token"],
        )
    except SupportError as exc:
        flash.error(request, str(exc))
    else:
        if not created:
            flash.info(request, "That was already sent: it is stored once.")
        else:
            flash.success(request, "Note added." if data["kind"] == "internal" else "Reply sent.")
    return redirect("support:ticket", ticket_id=ticket.pk)


@login_required
@require_POST
def ticket_update(request, ticket_id: int):
    ticket = _ticket_or_404(request, ticket_id)
    team_agents = Agent.objects.filter(teams=ticket.team_id) if ticket.team_id else Agent.objects.none()
    form = TicketUpdateForm(request.POST, agents=team_agents, status_now=ticket.status)
    if not form.is_valid():
        flash.error(request, "Please correct the ticket fields.")
        return redirect("support:ticket", ticket_id=ticket.pk)
    data = form.cleaned_data
    try:
        tickets.ticket_update(ticket=ticket, priority=data["priority"], tags=data["tags"], user=request.user)
        tickets.ticket_status_set(ticket=ticket, status=data["status"], user=request.user)
        if (data["assignee"].pk if data["assignee"] else None) != ticket.assignee_id:
            routing.ticket_assign(ticket=ticket, agent=data["assignee"], user=request.user)
    except SupportError as exc:
        flash.error(request, str(exc))
    else:
        flash.success(request, "Ticket updated.")
    return redirect("support:ticket", ticket_id=ticket.pk)


@login_required
@require_POST
def ticket_merge(request, ticket_id: int):
    """Merge this ticket into another visible one; lands on the surviving ticket."""
    ticket = _ticket_or_404(request, ticket_id)
    form = MergeForm(request.POST)
    if not form.is_valid():
        flash.error(request, "Give the number of the ticket to merge into.")
        return redirect("support:ticket", ticket_id=ticket.pk)
    try:
        target = selectors.ticket_get(ticket_id=form.cleaned_data["into"], user=request.user)
        tickets.ticket_merge(source=ticket, target=target, user=request.user)
    except SupportError as exc:
        flash.error(request, str(exc))
        return redirect("support:ticket", ticket_id=ticket.pk)
    flash.success(request, f"Ticket #{ticket.pk} merged into #{target.pk}.")
    return redirect("support:ticket", ticket_id=target.pk)


@login_required
@require_POST
def ticket_draft(request, ticket_id: int):
    """Ask the platform for a draft; the ticket page then shows it in the reply box, nothing is sent."""
    ticket = _ticket_or_404(request, ticket_id)
    draft = assist.ticket_draft(ticket=ticket)
    if not draft["available"]:
        flash.warning(request, "AI draft: intelligence unavailable.")
    request.session[DRAFTS] = {
        **request.session.get(DRAFTS, {}),
        str(ticket.pk): {
            **draft,
            "draft": assist.as_json(draft["draft"]),
            "actions": assist.as_json(draft["actions"]),
        },
    }
    return redirect("support:ticket", ticket_id=ticket.pk)


@login_required
@never_cache
def dashboard(request):
    agent, denied = _agent_or_403(request)
    if denied:
        return denied
    today = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)
    report = (
        reporting.sla_report(since=today, until=today + timedelta(days=1), agent=agent) if agent else None
    )
    return render(
        request,
        "support/dashboard.html",
        {
            "agent": agent,
            "load": routing.agent_load(agent=agent) if agent else 0,
            "statuses": Agent.Status.choices,
            "report": report,
            "mine": selectors.queue(user=request.user, view="mine", sort="due")[:10] if agent else [],
            "now": timezone.now(),
        },
    )


@login_required
@require_POST
def agent_status(request):
    agent = selectors.agent_for_user(user=request.user)
    status = request.POST.get("status")
    if agent is None or status not in Agent.Status.values:
        return HttpResponseForbidden("Not an agent, or unknown status.")
    routing.agent_status_set(agent=agent, status=status)
    flash.success(request, f"You are {status}.")
    return redirect("support:dashboard")


@login_required
@require_POST
def assign_next(request):
    agent = selectors.agent_for_user(user=request.user)
    if agent is None:
        return HttpResponseForbidden("Not an agent.")
    try:
        ticket = routing.ticket_assign_next(agent=agent, user=request.user)
    except NoEligibleTicket as exc:
        flash.info(request, str(exc))
        return redirect("support:dashboard")
    return redirect("support:ticket", ticket_id=ticket.pk)


@login_required
def teams(request):
    _agent, denied = _agent_or_403(request)
    if denied:
        return denied
    team_ids = selectors.team_ids_visible(user=request.user)
    return render(request, "support/teams.html", {"teams": selectors.team_overview(team_ids=team_ids)})


@login_required
def report(request):
    _agent, denied = _agent_or_403(request)
    if denied:
        return denied
    days = request.GET.get("days", "30")
    days = int(days) if days.isdigit() and 0 < int(days) <= 365 else 30
    until = timezone.now()
    data = reporting.sla_report(
        since=until - timedelta(days=days),
        until=until,
        team_ids=selectors.team_ids_visible(user=request.user),
    )
    return render(request, "support/report.html", {"report": data, "days": days})
