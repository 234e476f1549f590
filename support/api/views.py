"""Support API: thin views (parse -> selector/service -> serialize). Other teams' ids are 404."""

from django.db import transaction
from drf_spectacular.utils import extend_schema, extend_schema_serializer, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from support import selectors
from support.api.permissions import IsSupportClient, request_key
from support.api.serializers import (
    AgentSerializer,
    DraftSerializer,
    MessageSerializer,
    SLAPolicySerializer,
    TicketDetailSerializer,
    TicketSerializer,
)
from support.errors import InvalidMerge, TicketNotFound
from support.models import Message, Team, Ticket
from support.services import assist, routing, tickets

ErrorSerializer = inline_serializer("SupportError", {"error": serializers.DictField()})


class SupportApi(APIView):
    api_scope = "support"
    throttle_scope = "support"
    permission_classes = [IsSupportClient]

    def who(self) -> dict:
        key = request_key(self.request)
        return {"api_key": key} if key is not None else {"user": self.request.user}

    def ticket(self, ticket_id: int) -> Ticket:
        return selectors.ticket_get(ticket_id=ticket_id, **self.who())

    def team(self, slug: str | None) -> Team | None:
        if not slug:
            return None
        visible = selectors.team_ids_visible(**self.who())
        team = Team.objects.filter(slug=slug).first()
        if team is None or (visible is not None and team.pk not in visible):
            raise serializers.ValidationError({"team": ["Unknown team."]})
        return team


def _paginated(view: APIView, request, queryset, serializer_class) -> Response:
    """One page of an ordered queryset in the project's envelope (count, next, previous, results)."""
    paginator = view.pagination_class()
    page = paginator.paginate_queryset(queryset, request, view=view)
    return paginator.get_paginated_response(serializer_class(page, many=True).data)


@extend_schema_serializer(component_name="SupportTicketQuery")
class TicketQuerySerializer(serializers.Serializer):
    """The queue filters; a malformed one is a 400 (an `assignee` of "x" used to reach the database)."""

    view = serializers.ChoiceField(selectors.QUEUE_VIEWS, default="all")
    sort = serializers.ChoiceField(list(selectors.SORTS), default="value")
    status = serializers.ChoiceField(Ticket.Status.choices, required=False)
    priority = serializers.ChoiceField(Ticket.Priority.choices, required=False)
    team = serializers.SlugField(max_length=50, required=False)
    assignee = serializers.IntegerField(min_value=1, max_value=2**31 - 1, required=False)
    tag = serializers.CharField(max_length=50, required=False)
    churn_band = serializers.ChoiceField(["low", "medium", "high"], required=False)
    archetype = serializers.CharField(max_length=120, required=False)
    customer_id = serializers.CharField(max_length=64, required=False)
    q = serializers.CharField(max_length=200, required=False)


class TicketListCreateApi(SupportApi):
    # Lets the schema describe the paginated list (page, page_size, count/next/results).
    pagination_class = api_settings.DEFAULT_PAGINATION_CLASS

    @extend_schema_serializer(component_name="SupportTicketCreate")
    class InputSerializer(serializers.Serializer):
        subject = serializers.CharField(max_length=255)
        body = serializers.CharField(max_length=50_000)
        customer_id = serializers.CharField(max_length=64, required=False, default="")
        requester_name = serializers.CharField(max_length=200, required=False, default="")
        requester_email = serializers.EmailField(max_length=254, required=False, default="")
        channel = serializers.ChoiceField(Ticket.Channel.choices, default=Ticket.Channel.API)
        priority = serializers.ChoiceField(Ticket.Priority.choices, default=Ticket.Priority.NORMAL)
        team = serializers.SlugField(max_length=50, required=False, allow_blank=True)
        tags = serializers.ListField(child=serializers.CharField(max_length=50), max_length=20, default=list)
        intent = serializers.CharField(max_length=64, required=False, default="")

    @extend_schema(parameters=[TicketQuerySerializer], responses=TicketSerializer(many=True))
    def get(self, request):
        # A plain dict: with the QueryDict DRF would read "status=" as "not given".
        query = TicketQuerySerializer(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        q = query.validated_data
        qs = selectors.queue(
            **self.who(),
            view=q["view"],
            sort=q["sort"],
            filters={k: v for k, v in q.items() if k not in ("view", "sort") and v},
        )
        return _paginated(self, request, qs, TicketSerializer)

    @extend_schema(request=InputSerializer, responses={201: TicketSerializer})
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        team = self.team(values.pop("team", None))
        if team is None and request_key(request) is not None and selectors.team_ids_visible(**self.who()):
            raise serializers.ValidationError({"team": ["This key must name one of its granted teams."]})
        user = None if request_key(request) else request.user
        ticket = tickets.ticket_create(**values, team=team, user=user)
        return Response(TicketSerializer(ticket).data, status=status.HTTP_201_CREATED)


class TicketDetailApi(SupportApi):
    @extend_schema_serializer(component_name="SupportTicketUpdate")
    class InputSerializer(serializers.Serializer):
        status = serializers.ChoiceField(Ticket.Status.choices, required=False)
        priority = serializers.ChoiceField(Ticket.Priority.choices, required=False)
        tags = serializers.ListField(
            child=serializers.CharField(max_length=50), max_length=20, required=False
        )
        assignee = serializers.IntegerField(required=False, allow_null=True)

    @extend_schema(responses=TicketDetailSerializer)
    def get(self, request, ticket_id: int):
        ticket = self.ticket(ticket_id)
        customer = assist.customer_panel(ticket=ticket)
        customer = {
            **customer,
            "intelligence": assist.as_json(customer["intelligence"]),
            "recent_orders": assist.as_json(customer["recent_orders"]),
        }
        return Response(TicketDetailSerializer(ticket, context={"customer": customer}).data)

    @extend_schema(request=InputSerializer, responses=TicketSerializer)
    def patch(self, request, ticket_id: int):
        ticket = self.ticket(ticket_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        user = None if request_key(request) else request.user
        with transaction.atomic():
            if "priority" in v or "tags" in v:
                tickets.ticket_update(
                    ticket=ticket, priority=v.get("priority"), tags=v.get("tags"), user=user
                )
            # The assignee before the status: "assign and close" in one request is one change, and
            # a closed ticket takes no assignee.
            if "assignee" in v:
                agent = selectors.agent_get(agent_id=v["assignee"], **self.who()) if v["assignee"] else None
                routing.ticket_assign(ticket=ticket, agent=agent, user=user)
            if "status" in v:
                tickets.ticket_status_set(ticket=ticket, status=v["status"], user=user)
        ticket.refresh_from_db()
        return Response(TicketSerializer(ticket).data)


class TicketMessagesApi(SupportApi):
    # Paginated like every list (README); also puts page/page_size and the envelope in the schema.
    pagination_class = api_settings.DEFAULT_PAGINATION_CLASS

    @extend_schema_serializer(component_name="SupportMessageCreate")
    class InputSerializer(serializers.Serializer):
        body = serializers.CharField(max_length=50_000)
        kind = serializers.ChoiceField(Message.Kind.choices, default=Message.Kind.PUBLIC)
        author = serializers.ChoiceField(["agent", "customer"], default="agent")

    @extend_schema(responses=MessageSerializer(many=True))
    def get(self, request, ticket_id: int):
        ticket = self.ticket(ticket_id)
        return _paginated(self, request, selectors.ticket_messages(ticket=ticket), MessageSerializer)

    @extend_schema(request=InputSerializer, responses={201: MessageSerializer})
    def post(self, request, ticket_id: int):
        ticket = self.ticket(ticket_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        key = request_key(request)
        agent = None if key else selectors.agent_for_user(user=request.user)
        message = tickets.message_add(
            ticket=ticket,
            body=data.validated_data["body"],
            kind=data.validated_data["kind"],
            author_kind=data.validated_data["author"],
            agent=agent,
            via="api" if key else "web",
            user=None if key else request.user,
        )
        return Response(MessageSerializer(message).data, status=status.HTTP_201_CREATED)


class TicketMergeApi(SupportApi):
    """Merge this (duplicate) ticket into another one the caller can see; returns the target."""

    @extend_schema_serializer(component_name="SupportTicketMerge")
    class InputSerializer(serializers.Serializer):
        into = serializers.IntegerField(min_value=1, help_text="Id of the ticket to merge into.")

    @extend_schema(
        request=InputSerializer,
        responses={200: TicketSerializer, 400: ErrorSerializer, 404: ErrorSerializer, 409: ErrorSerializer},
    )
    def post(self, request, ticket_id: int):
        source = self.ticket(ticket_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        into = data.validated_data["into"]
        if into == source.pk:
            raise InvalidMerge("A ticket cannot be merged into itself.", details={"into": into})
        target = self.ticket(into)
        user = None if request_key(request) else request.user
        merged = tickets.ticket_merge(source=source, target=target, user=user)
        merged.refresh_from_db()
        return Response(TicketSerializer(merged).data)


class TicketDraftApi(SupportApi):
    throttle_scope = "generation"

    @extend_schema(request=None, responses=DraftSerializer)
    def post(self, request, ticket_id: int):
        result = assist.ticket_draft(ticket=self.ticket(ticket_id))
        result = {
            **result,
            "draft": assist.as_json(result["draft"]),
            "actions": assist.as_json(result["actions"]),
        }
        return Response(DraftSerializer(result).data)


class AgentListApi(SupportApi):
    pagination_class = api_settings.DEFAULT_PAGINATION_CLASS  # every list is paginated (README)

    @extend_schema(responses=AgentSerializer(many=True))
    def get(self, request):
        return _paginated(self, request, selectors.agents_list(**self.who()), AgentSerializer)


class AgentAssignNextApi(SupportApi):
    @extend_schema(
        request=None,
        responses={
            200: TicketSerializer,
            404: ErrorSerializer,
        },
    )
    def post(self, request, agent_id: int):
        agent = selectors.agent_get(agent_id=agent_id, **self.who())
        own = selectors.agent_for_user(user=request.user) if request_key(request) is None else None
        if own is not None and own.pk != agent.pk and not request.user.is_staff:
            raise TicketNotFound("Agents pull tickets for themselves only.")
        ticket = routing.ticket_assign_next(agent=agent, user=None if request_key(request) else request.user)
        return Response(TicketSerializer(ticket).data)


class SLAPolicyListApi(SupportApi):
    pagination_class = api_settings.DEFAULT_PAGINATION_CLASS  # every list is paginated (README)

    @extend_schema(responses=SLAPolicySerializer(many=True))
    def get(self, request):
        return _paginated(self, request, selectors.policies_list(), SLAPolicySerializer)
