import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from support.models import Agent, BusinessCalendar, Macro, SLAPolicy, Team, Ticket

WEEKDAYS_9_17 = {str(d): [["09:00", "17:00"]] for d in range(5)}


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"agent{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.com")
    password = factory.django.Password("quimbi-agent")


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Team {n}")
    slug = factory.Sequence(lambda n: f"team-{n}")


class AgentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Agent
        skip_postgeneration_save = True

    user = factory.SubFactory(UserFactory)
    status = Agent.Status.ONLINE
    capacity = 5

    @factory.post_generation
    def teams(self, create, extracted, **kwargs):
        if create and extracted:
            self.teams.set(extracted)


class CalendarFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BusinessCalendar

    name = factory.Sequence(lambda n: f"Office {n}")
    timezone = "Europe/Berlin"
    weekly_hours = WEEKDAYS_9_17


class PolicyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SLAPolicy

    name = factory.Sequence(lambda n: f"Policy {n}")
    position = factory.Sequence(lambda n: n)
    targets = factory.LazyFunction(
        lambda: {
            p: {"first_response": 60, "next_response": 120, "resolution": 480}
            for p in ("low", "normal", "high", "urgent")
        }
    )


class TicketFactory(factory.django.DjangoModelFactory):
    """A bare row (no SLA, no messages): use services.tickets.ticket_create for behaviour."""

    class Meta:
        model = Ticket

    subject = factory.Sequence(lambda n: f"Where is my order {n}?")
    customer_id = ""
    created_at = factory.LazyFunction(timezone.now)
    updated_at = factory.LazyFunction(timezone.now)


class MacroFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Macro

    name = factory.Sequence(lambda n: f"Macro {n}")
    body = "Hi {requester_name}, thanks for writing about #{ticket_id}. — {agent_name}"


def key_client(grants: dict | None = None, scopes: list[str] | None = None):
    """A DRF test client sending a new API key with these grants and scopes (none: all scopes).

    The site's key model is looked up by name: the support app must not import quimbi_site."""
    from django.apps import apps
    from rest_framework.test import APIClient

    model = apps.get_model("quimbi_site", "ClientApiKey")
    obj, raw = model.objects.create_key(name="support-client")
    obj.grants, obj.scopes = grants or {}, scopes or []
    obj.save()
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=raw)
    return client
