"""Schemathesis against our own OpenAPI document, in-process (issue #7).

Every operation of /api/schema/ is called through the WSGI application with
generated positive and negative data (schemathesis' examples, coverage and
fuzzing phases), once with a key granted every scope and once without
credentials. With the key: no 5xx, every status code and body is the one the
schema documents, negative data is rejected with a 4xx, and the key is really
needed (schemathesis replays a successful request without it and with a wrong
one). Without credentials: every operation not public by design answers 401.

Examples per operation come from QUIMBI_FUZZ_EXAMPLES (a few here, 200 in
`make fuzz`); generation is derandomized and keeps no example database, so a
run is reproducible and leaves no files behind.

The operations run against a small real world built once per module: a
synthetic shop with trained and scored models (so intelligence and generation
do real work instead of answering "no model yet"), an SLA policy, a support
team with an agent and tickets, and a marketing segment, campaign and A/B test.
Where a generated id is well formed it is pointed at those objects, so the
fuzzer gets past the lookups into the code behind them; ids of the wrong type
or size are sent as generated.
"""

import os
import tempfile
from pathlib import Path

import pytest
import schemathesis
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from hypothesis.configuration import set_hypothesis_home_dir
from schemathesis.checks import not_a_server_error
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from ingestion.api.serializers import BatchInputSerializer, CustomerSyncInputSerializer
from quimbi_site.api.throttling import ScopedDatabaseThrottle
from quimbi_site.wsgi import application

pytestmark = pytest.mark.django_db

# Hypothesis caches (unicode tables, constants) go to a temporary directory, never the checkout.
set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "quimbi-hypothesis")

EXAMPLES = int(os.environ.get("QUIMBI_FUZZ_EXAMPLES", "3"))
# Public by design (see test_authz_matrix.PUBLIC_ROUTES): signed by HMAC, not by a key.
PUBLIC_OPERATIONS = {"POST /api/data/webhooks/shopify/{topic}"}
# Rejection means a 4xx; schemathesis' default list also accepts any 5xx here.
REJECTED = ["400", "401", "403", "404", "405", "406", "409", "413", "415", "422"]

GENERATION = {"mode": "all", "max-examples": EXAMPLES, "with-security-parameters": False}
schema = schemathesis.openapi.from_wsgi(
    "/api/schema/",
    application,
    config=schemathesis.Config.from_dict(
        {
            "seed": 7,
            "generation": GENERATION,
            "phases": {"stateful": {"enabled": False}},
            "checks": {"negative_data_rejection": {"expected-statuses": REJECTED}},
        }
    ),
)
# Authentication comes before any parsing, so without credentials the coverage phase's
# hundreds of boundary cases would all test the same thing: generated examples suffice.
anonymous_schema = schemathesis.openapi.from_dict(
    schema.raw_schema,
    config=schemathesis.Config.from_dict(
        {
            "seed": 7,
            "generation": GENERATION,
            "phases": {"coverage": {"enabled": False}, "stateful": {"enabled": False}},
        }
    ),
).exclude(name=sorted(PUBLIC_OPERATIONS))
anonymous_schema.app = application

# The data API's records are checked one by one by the ingestion service (one set of rules for
# HTTP, files and webhooks; ingestion/tests/test_bad_input.py): a bad record is reported in a 200
# when others are stored, and a blank optional field counts as absent. So for these operations
# negative data must be refused when it is in the envelope (source, records, customer), which
# the view validates with these serializers.
DATA_ENVELOPES = {
    "POST /api/data/orders": BatchInputSerializer,
    "POST /api/data/interactions": BatchInputSerializer,
    "POST /api/data/events": BatchInputSerializer,
    "POST /api/data/customers": CustomerSyncInputSerializer,
}


def negative_data_rejected(ctx, response, case):
    envelope = DATA_ENVELOPES.get(case.operation.label)
    if envelope is not None and isinstance(case.body, dict) and envelope(data=case.body).is_valid():
        return None
    return negative_data_rejection(ctx, response, case)


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejected,
    ignored_auth,
]
HYPOTHESIS = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=False,
    # The world fixture is shared by every example of an operation on purpose.
    suppress_health_check=list(HealthCheck),
)

# Path parameters and body fields that name an object, and the world's object they get.
PATH_IDS = {
    "ticket_id": "ticket",
    "agent_id": "agent",
    "segment_id": "segment",
    "campaign_id": "campaign",
    "ab_test_id": "ab_test",
    "customer_id": "customer",
}
BODY_IDS = {
    "customer_id": "customer",
    "team": "team",
    "segment": "segment",
    "campaign": "campaign",
    "into": "other_ticket",
    "assignee": "agent",
}
THROTTLE_SCOPES = ("ingestion", "generation", "intelligence", "marketing", "support")
WORLD_APPS = ("marketing", "support", "generation", "intelligence", "ingestion", "quimbi_site")


def _wipe() -> None:
    for label in WORLD_APPS:
        for model in reversed(list(apps.get_app_config(label).get_models())):
            model.objects.all().delete()
    get_user_model().objects.filter(username__startswith="fuzz-").delete()


def _build_world() -> dict:
    from intelligence.models import CustomerIntelligence
    from marketing.services import abtests, campaigns, segments
    from quimbi_site.models import ClientApiKey
    from support.services import tickets
    from support.tests.factories import AgentFactory, PolicyFactory, TeamFactory, UserFactory

    call_command("generate_shop", "--customers", "50", "--seed", "7", "--no-events", verbosity=0)
    call_command("train_models", verbosity=0)
    call_command("score_customers", verbosity=0)
    customer = CustomerIntelligence.objects.order_by("-order_count", "customer_id").first().customer_id

    PolicyFactory(name="fuzz-policy")  # tickets get SLA timers, the policy list is not empty
    team = TeamFactory(slug="fuzz")
    agent = AgentFactory(user=UserFactory(username="fuzz-agent"), teams=[team])
    ticket, other_ticket = (
        tickets.ticket_create(
            subject=subject, body="My order has not arrived.", customer_id=customer, team=team
        )
        for subject in ("Where is my order?", "Order still missing")
    )
    segment = segments.segment_create(
        name="fuzz-at-risk",
        rules={"combinator": "and", "rules": [{"field": "order_count", "op": "gte", "value": 1}]},
    )
    variants = [
        {"name": name, "subject_template": "Hi", "body_template": "Hello {{ first_name }}"} for name in "AB"
    ]
    campaign = campaigns.campaign_create(name="fuzz-win-back", segment=segment, variants=variants)
    ab_test = abtests.abtest_create(campaign=campaign)
    for _ in range(2):
        segments.segment_snapshot_take(segment=segment)
    _, key = ClientApiKey.objects.create_key(name="fuzz-all-scopes", grants={"support_teams": "*"})
    return {
        "key": key,
        "customer": customer,
        "team": team.slug,
        "ticket": ticket.pk,
        "other_ticket": other_ticket.pk,
        "agent": agent.pk,
        "segment": segment.pk,
        "campaign": campaign.pk,
        "ab_test": ab_test.pk,
    }


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """Committed once for the module (tests roll back on top of it), wiped afterwards."""
    with django_db_blocker.unblock():
        _wipe()
        try:
            yield _build_world()
        finally:
            _wipe()


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """Schemathesis calls the WSGI application itself, not through Django's test client, so each
    request's start and end would close the connection the test's transaction lives on (as the
    test client avoids doing): harmless on in-memory SQLite, fatal on PostgreSQL."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture(autouse=True)
def _unthrottled(monkeypatch):
    # Throttling has its own tests; here it would answer 429 long before a long run ends.
    monkeypatch.setattr(ScopedDatabaseThrottle, "THROTTLE_RATES", dict.fromkeys(THROTTLE_SCOPES, None))


def _point_ids_at_the_world(case, world) -> None:
    """Swap generated ids for the world's, where the generated value is a well-formed id.

    A value of the wrong type or size is left alone: it may be what makes a negative case negative.
    """
    for name, value in (case.path_parameters or {}).items():
        if name in PATH_IDS and _well_formed(value, world[PATH_IDS[name]]):
            case.path_parameters[name] = world[PATH_IDS[name]]
    if isinstance(case.body, dict):
        for name, target in BODY_IDS.items():
            if name in case.body and _well_formed(case.body[name], world[target]):
                case.body[name] = world[target]


def _well_formed(value, real) -> bool:
    if isinstance(real, int):
        return (type(value) is int and value >= 0) or (isinstance(value, str) and value.isdigit())
    return isinstance(value, str) and 1 <= len(value) <= 50


@schema.parametrize()
@HYPOTHESIS
def test_api_with_a_key_granted_every_scope(case, world):
    _point_ids_at_the_world(case, world)
    case.call_and_validate(headers={"X-API-Key": world["key"]}, checks=CHECKS)


@anonymous_schema.parametrize()
@HYPOTHESIS
def test_api_without_credentials_is_refused(case):
    response = case.call()
    meta = case.meta
    if meta is not None and meta.generation.mode.is_negative:
        # The URL router and the idempotency middleware answer before authentication.
        if meta.is_negative_at(ParameterLocation.PATH) and response.status_code == 404:
            return
        if meta.is_negative_at(ParameterLocation.HEADER) and response.status_code == 400:
            return
    assert response.status_code == 401, (case.operation.label, response.status_code, response.text[:300])
    assert set(response.json()) == {"error"}
