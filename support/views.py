"""Agent pages: thin views (parse -> selector/service -> render). Login required, CSRF on."""

from datetime import timedelta

from django.contrib import messages as flash
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponseForbidden
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from support import selectors
from support.errors import NoEligibleTicket, SupportError, TicketNotFound
from support.forms import MergeForm, QueueFilterForm, ReplyForm, TicketUpdateForm
from support.models import Agent, Macro, Message
from support.services import assist, reporting, routing, tickets

PAGE_SIZE = 25


def _ticket_or_404(request, ticket_id: int):
    try:
        return selectors.ticket_get(ticket_id=ticket_id, user=request.user)
    except TicketNotFound as exc:
        raise Http404("No such ticket.") from exc


def _agent_or_403(request):
    agent = selectors.agent_for_user(user=request.user)
    if agent is None and not request.user.is_staff:
        return None, HttpResponseForbidden("Support pages are for agents.")
    return agent, None


@login_required
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
    macro_id = request.GET.get("macro")
    initial_body = ""
    if macro_id and macro_id.isdigit():
        macro = Macro.objects.filter(pk=int(macro_id), active=True).first()
        if macro is not None:
            initial_body = tickets.macro_render(macro=macro, ticket=ticket, agent=agent)
    if draft is not None and draft["draft"] is not None:
        initial_body = draft["draft"].body
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
        "reply_form": reply_form or ReplyForm(initial={"body": initial_body}),
        "update_form": TicketUpdateForm(
            agents=team_agents,
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
def ticket_detail(request, ticket_id: int):
    ticket = _ticket_or_404(request, ticket_id)
    return render(request, "support/ticket.html", _ticket_context(request, ticket))


@login_required
@require_POST
def ticket_reply(request, ticket_id: int):
    ticket = _ticket_or_404(request, ticket_id)
    form = ReplyForm(request.POST)
    if not form.is_valid():
        return render(
            request, "support/ticket.html", _ticket_context(request, ticket, reply_form=form), status=400
        )
    agent = selectors.agent_for_user(user=request.user)
    try:
        tickets.message_add(
            ticket=ticket,
            body=form.cleaned_data["body"],
            kind=form.cleaned_data["kind"],
            author_kind=Message.Author.AGENT,
            agent=agent,
            user=request.user,
        )
        if form.cleaned_data["status"]:
            tickets.ticket_status_set(ticket=ticket, status=form.cleaned_data["status"], user=request.user)
    except SupportError as exc:
        flash.error(request, str(exc))
    else:
        flash.success(request, "Note added." if form.cleaned_data["kind"] == "internal" else "Reply sent.")
    return redirect("support:ticket", ticket_id=ticket.pk)


@login_required
@require_POST
def ticket_update(request, ticket_id: int):
    ticket = _ticket_or_404(request, ticket_id)
    team_agents = Agent.objects.filter(teams=ticket.team_id) if ticket.team_id else Agent.objects.none()
    form = TicketUpdateForm(request.POST, agents=team_agents)
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
    """Ask the platform for a draft; the reply box is filled, nothing is sent."""
    ticket = _ticket_or_404(request, ticket_id)
    draft = assist.ticket_draft(ticket=ticket)
    if not draft["available"]:
        flash.warning(request, "AI draft: intelligence unavailable.")
    return render(request, "support/ticket.html", _ticket_context(request, ticket, draft=draft))


@login_required
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
