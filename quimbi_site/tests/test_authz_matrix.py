"""Authorization matrix generated from the URL configuration (OWASP API1/API5).

Every /api/ route and HTTP method is called without credentials, with revoked,
expired, malformed and wrong-secret keys (401), with a valid key lacking the
route's scope (403) and with a logged-in user who is neither staff nor (for
support) an agent (403). Path ids name another team's objects where the API is
team-scoped, otherwise an id that does not exist. Nothing may answer 2xx or 5xx.
A new /api/ route joins the matrix automatically; a new public route must be
listed in PUBLIC_ROUTES with its reason or this test fails.
"""

from datetime import timedelta

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from rest_framework.test import APIClient

from quimbi_site.models import SCOPES, ClientApiKey
from support.tests.factories import AgentFactory, TeamFactory, TicketFactory, UserFactory

pytestmark = pytest.mark.django_db

PUBLIC_ROUTES = {
    "api/schema/": "OpenAPI document, public by design (documents the API, holds no data)",
    "api/docs/": "Swagger UI page rendering the public schema",
    "api/data/webhooks/shopify/<path:topic>": "Shopify webhook: authenticated by its HMAC signature, not a key",
}
# /healthz is outside /api/ and public for load balancers; it is not walked here.
METHODS = ("get", "post", "put", "patch", "delete")
MISSING_ID = "999999"


def _walk(patterns, prefix=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), pattern


def _api_routes():
    routes = []
    for route, pattern in _walk(get_resolver().url_patterns):
        if not route.startswith("api/"):
            continue
        view = getattr(pattern.callback, "cls", None) or getattr(pattern.callback, "view_class", None)
        methods = [m for m in METHODS if view is not None and hasattr(view, m)]
        routes.append((route, pattern, view, methods))
    return routes


ROUTES = _api_routes()
PROTECTED = [
    pytest.param(route, pattern, view, method, id=f"{method.upper()} /{route}")
    for route, pattern, view, methods in ROUTES
    if route not in PUBLIC_ROUTES
    for method in methods
]


def test_every_api_route_is_either_in_the_matrix_or_listed_public_with_a_reason():
    routes = {route for route, *_ in ROUTES}
    assert set(PUBLIC_ROUTES) <= routes, "a listed public route no longer exists"
    for route, _pattern, view, methods in ROUTES:
        assert view is not None and methods, f"/{route} is not a class-based API view"
    assert len(PROTECTED) >= 30


@pytest.fixture
def world(settings):
    """Two support teams, an agent and a ticket in each, and the keys of the matrix."""
    # The factories' user passwords: a fast hasher keeps the ~50-case matrix quick.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    team_a, team_b = TeamFactory(slug="authz-a"), TeamFactory(slug="authz-b")
    agent_a = AgentFactory(teams=[team_a])
    agent_b = AgentFactory(teams=[team_b])
    ticket_b = TicketFactory(team=team_b, assignee=agent_b, subject="Team B's private ticket")
    ticket_a = TicketFactory(team=team_a, assignee=agent_a, subject="Team A's ticket")
    _, revoked = ClientApiKey.objects.create_key(name="revoked", revoked=True)
    _, expired = ClientApiKey.objects.create_key(
        name="expired", expiry_date=timezone.now() - timedelta(minutes=1)
    )
    valid, raw_valid = ClientApiKey.objects.create_key(name="valid")
    scoped = {
        scope: ClientApiKey.objects.create_key(name=f"only-{scope}", scopes=[scope])[1] for scope in SCOPES
    }
    _, team_a_key = ClientApiKey.objects.create_key(
        name="team-a", scopes=["support"], grants={"support_teams": ["authz-a"]}
    )
    return {
        "agent_a": agent_a,
        "agent_b": agent_b,
        "ticket_a": ticket_a,
        "ticket_b": ticket_b,
        "bad_keys": {
            "revoked": revoked,
            "expired": expired,
            "malformed": "not-a-key",
            "malformed-dots": "a.b.c\x00",
            "empty": "",
            "wrong-secret": f"{valid.prefix}.{'x' * 32}",
            "truncated": raw_valid[:-1],
        },
        "scoped": scoped,
        "team_a_key": team_a_key,
        "plain_user": UserFactory(username="authz-plain"),
    }


def _url(route, pattern, world):
    """The route with its parameters filled: team B's objects for support, else a missing id."""
    url = "/" + route
    for name in pattern.pattern.converters:
        value = {
            "ticket_id": str(world["ticket_b"].pk),
            "agent_id": str(world["agent_b"].pk),
        }.get(name, MISSING_ID)
        for converter in ("int", "str", "path", "slug", "uuid"):
            url = url.replace(f"<{converter}:{name}>", value)
        url = url.replace(f"<{name}>", value)
    assert "<" not in url, url
    return url


def _call(client, method, url, **extra):
    if method in ("post", "put", "patch"):
        return getattr(client, method)(url, {}, format="json", **extra)
    return getattr(client, method)(url, **extra)


def _assert_refused(response, statuses, label):
    assert response.status_code in statuses, (label, response.status_code, response.content[:300])
    body = response.json()
    assert set(body) == {"error"}, (label, body)  # the error envelope, never data


def _other_scope(view):
    own = getattr(view, "api_scope", None)
    assert own in SCOPES, f"{view.__name__} has no api_scope"
    return next(scope for scope in SCOPES if scope != own)


@pytest.mark.parametrize(("route", "pattern", "view", "method"), PROTECTED)
def test_protected_endpoint_refuses_every_wrong_caller(route, pattern, view, method, world):
    url = _url(route, pattern, world)
    _assert_refused(_call(APIClient(), method, url), {401}, "no credentials")

    for label, raw in world["bad_keys"].items():
        _assert_refused(_call(APIClient(), method, url, HTTP_X_API_KEY=raw), {401}, label)

    key_without_scope = world["scoped"][_other_scope(view)]
    _assert_refused(_call(APIClient(), method, url, HTTP_X_API_KEY=key_without_scope), {403}, "scope")

    user_client = APIClient()
    user_client.force_login(world["plain_user"])
    _assert_refused(_call(user_client, method, url), {403}, "non-staff user")


def test_a_valid_key_is_not_refused_so_the_matrix_tests_authorization():
    """Control: the same client machinery with a right key gets past auth."""
    _, raw = ClientApiKey.objects.create_key(name="control", scopes=["intelligence"])
    response = APIClient().get("/api/intelligence/features", HTTP_X_API_KEY=raw)
    assert response.status_code not in (401, 403), response.content[:300]


SUPPORT_TEAM_SCOPED = [
    ("get", "/api/support/tickets/{ticket}"),
    ("patch", "/api/support/tickets/{ticket}"),
    ("get", "/api/support/tickets/{ticket}/messages"),
    ("post", "/api/support/tickets/{ticket}/messages"),
    ("post", "/api/support/tickets/{ticket}/ai-draft"),
]


@pytest.mark.parametrize("caller", ["agent_of_team_a", "key_granted_team_a"])
def test_team_a_callers_never_see_team_b_tickets(caller, world):
    client = APIClient()
    if caller == "agent_of_team_a":
        client.force_login(world["agent_a"].user)
    else:
        client.credentials(HTTP_X_API_KEY=world["team_a_key"])
    ticket_b = world["ticket_b"]
    for method, template in SUPPORT_TEAM_SCOPED:
        url = template.format(ticket=ticket_b.pk)
        body = {"team": "authz-a", "status": "solved", "body": "hi", "kind": "note"}
        response = getattr(client, method)(url, body, format="json") if method != "get" else client.get(url)
        _assert_refused(response, {404}, f"{method} {url}")

    listing = client.get("/api/support/tickets")
    assert listing.status_code == 200
    assert ticket_b.subject not in listing.content.decode()
    assert world["ticket_a"].subject in listing.content.decode()

    ticket_b.refresh_from_db()
    assert ticket_b.team.slug == "authz-b" and ticket_b.messages.count() == 0


def test_agent_of_team_a_cannot_pull_work_for_an_agent_of_team_b(world):
    client = APIClient()
    client.force_login(world["agent_a"].user)
    response = client.post(f"/api/support/agents/{world['agent_b'].pk}/assign-next", {}, format="json")
    _assert_refused(response, {403, 404}, "assign-next for another team's agent")


def test_unsigned_shopify_webhook_is_refused():
    response = APIClient().post(
        "/api/data/webhooks/shopify/orders/create",
        {"id": 1},
        format="json",
        HTTP_X_SHOPIFY_TOPIC="orders/create",
    )
    assert response.status_code in (401, 403), response.content[:300]
