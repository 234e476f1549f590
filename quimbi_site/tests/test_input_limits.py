"""Per-endpoint input limits, read from the OpenAPI document (issue #7).

Every string a request body or query string may carry has a maxLength and every
array a maxItems, in the schema, so a new endpoint without limits fails here
before it ships. Behavioural checks show the limits are the ones enforced: an
over-long top-level string is a 400 naming the field, and page sizes are
capped. (Free-form JSON objects such as `context` are bounded by the 5 MB body
limit and the parser's nesting limit; path and header values by the HTTP
server's request-line and header limits.)
"""

import pytest
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from marketing.models import Segment
from quimbi_site.api.pagination import CappedPageNumberPagination

pytestmark = pytest.mark.django_db

SCHEMA = SchemaGenerator().get_schema(request=None, public=True)
COMPONENTS = SCHEMA["components"]["schemas"]
OPERATIONS = [
    (f"{method.upper()} {path}", path, method, operation)
    for path, methods in SCHEMA["paths"].items()
    for method, operation in methods.items()
]
# Strings whose format bounds their length.
BOUNDED_FORMATS = {"date", "date-time", "uuid"}


def _resolve(node: dict, seen: frozenset) -> tuple[dict, frozenset] | tuple[None, frozenset]:
    if "$ref" not in node:
        return node, seen
    name = node["$ref"].rsplit("/", 1)[-1]
    if name in seen:  # a recursive component is checked where it is first met
        return None, seen
    return COMPONENTS[name], seen | {name}


def unbounded(node: dict, where: str, seen: frozenset = frozenset()):
    """(where, problem) for every string without maxLength and array without maxItems under node."""
    node, seen = _resolve(node, seen)
    if node is None:
        return
    for key in ("allOf", "oneOf", "anyOf"):
        for sub in node.get(key, []):
            yield from unbounded(sub, where, seen)
    kind = node.get("type")
    if kind == "string" and not (
        {"enum", "maxLength"} & node.keys() or node.get("format") in BOUNDED_FORMATS
    ):
        yield where, "string without maxLength"
    if kind == "array":
        if "maxItems" not in node:
            yield where, "array without maxItems"
        yield from unbounded(node.get("items", {}), f"{where}[]", seen)
    for name, prop in node.get("properties", {}).items():
        if not prop.get("readOnly"):
            yield from unbounded(prop, f"{where}.{name}", seen)
    if isinstance(node.get("additionalProperties"), dict):
        yield from unbounded(node["additionalProperties"], f"{where}.*", seen)


def request_inputs(operation: dict):
    """(where, schema) for the request body and every query parameter."""
    for media_type, body in operation.get("requestBody", {}).get("content", {}).items():
        yield f"body ({media_type})", body["schema"]
    for param in operation.get("parameters", []):
        if param["in"] == "query":
            yield f"query {param['name']}", param["schema"]


@pytest.mark.parametrize(("label", "path", "method", "operation"), OPERATIONS, ids=[o[0] for o in OPERATIONS])
def test_every_request_string_and_list_is_bounded_in_the_schema(label, path, method, operation):
    problems = [
        problem for where, schema in request_inputs(operation) for problem in unbounded(schema, where)
    ]
    assert problems == []


def test_the_walker_finds_unbounded_strings_and_lists():
    """Control: the check above can fail."""
    body = {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "tags": {"type": "array", "items": {"type": "string", "maxLength": 5}},
            "id": {"type": "string", "readOnly": True},
            "when": {"type": "string", "format": "date-time"},
        },
    }
    assert list(unbounded(body, "body")) == [
        ("body.name", "string without maxLength"),
        ("body.tags", "array without maxItems"),
    ]


def _top_level_limits():
    """(operation, field, maxLength) for top-level body strings of operations without path parameters."""
    for label, path, method, operation in OPERATIONS:
        if "{" in path or "security" not in operation:
            continue
        content = operation.get("requestBody", {}).get("content", {}).get("application/json")
        if content is None:
            continue
        body, _ = _resolve(content["schema"], frozenset())
        for name, prop in body.get("properties", {}).items():
            prop, _ = _resolve(prop, frozenset())
            if prop is not None and prop.get("type") == "string" and "maxLength" in prop:
                yield pytest.param(path, method, name, prop["maxLength"], id=f"{label} {name}")


@pytest.mark.parametrize(("path", "method", "field", "limit"), list(_top_level_limits()))
def test_an_over_long_string_is_a_400_naming_the_field(api_client, path, method, field, limit):
    response = getattr(api_client, method)(path, {field: "é" * (limit + 1)}, format="json")

    assert response.status_code == 400, response.content[:300]
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert field in error["details"], error


def test_strings_at_the_limit_are_accepted_and_stored_whole(api_client):
    body = {"subject": "é" * 255, "body": "ü" * 50_000, "requester_name": "名" * 200, "tags": ["t" * 50] * 20}

    response = api_client.post("/api/support/tickets", body, format="json")

    assert response.status_code == 201, response.content[:300]
    ticket = response.json()
    assert (ticket["subject"], ticket["requester_name"], ticket["tags"]) == (
        body["subject"],
        body["requester_name"],
        body["tags"],
    )


PAGINATED = [
    path
    for _, path, method, operation in OPERATIONS
    if method == "get" and any(p["name"] == "page_size" for p in operation.get("parameters", []))
]


def test_every_paginated_list_documents_the_cap():
    assert len(PAGINATED) >= 5
    cap = CappedPageNumberPagination.max_page_size
    for path in PAGINATED:
        params = {p["name"]: p for p in SCHEMA["paths"][path]["get"]["parameters"]}
        assert params["page_size"]["schema"] == {"type": "integer", "minimum": 1}
        assert f"capped at {cap}" in params["page_size"]["description"]


@pytest.fixture
def segments():
    cap = CappedPageNumberPagination.max_page_size
    Segment.objects.bulk_create(Segment(name=f"limit-{i:03d}", rules={}) for i in range(cap + 5))
    return Segment.objects.order_by("pk").first()


def test_a_page_size_above_the_cap_is_capped(api_client, segments):
    cap = CappedPageNumberPagination.max_page_size

    body = api_client.get("/api/marketing/segments", {"page_size": 10_000}).json()
    assert body["count"] == cap + 5
    assert len(body["results"]) == cap
    huge = api_client.get("/api/marketing/segments", {"page_size": "9" * 5000}).json()
    assert len(huge["results"]) == cap
    assert len(api_client.get("/api/marketing/segments", {"page_size": 7}).json()["results"]) == 7


@pytest.fixture
def path_ids(segments) -> dict[str, int]:
    """Ids for the paginated paths' parameters, of rows the test key may read."""
    from quimbi_site.models import ClientApiKey
    from support.services import tickets

    ClientApiKey.objects.update(grants={"support_teams": "*"})  # a ticket of any team
    ticket = tickets.ticket_create(subject="Limits", body="Where is my parcel?")
    return {"segment_id": segments.pk, "ticket_id": ticket.pk}


@pytest.mark.parametrize("path", PAGINATED)
@pytest.mark.parametrize("page_size", ["0", "-3", "abc", "1.5", "٣", ""])
def test_a_page_size_that_is_not_a_positive_integer_is_a_400(api_client, path_ids, path, page_size):
    response = api_client.get(path.format(**path_ids), {"page_size": page_size})

    assert response.status_code == 400, (path, page_size, response.content[:300])
    assert response.json()["error"]["details"] == {"page_size": ["A positive integer."]}


@pytest.mark.parametrize("page", ["", "0", "abc", "1.5", "9" * 5000, "99999"])
def test_a_page_that_is_no_page_of_the_list_is_a_404(api_client, segments, page):
    response = api_client.get("/api/marketing/segments", {"page": page})

    assert response.status_code == 404, (page, response.content[:300])
    assert response.json()["error"]["code"] == "not_found"


def test_an_anonymous_over_long_body_is_a_401_not_a_400():
    """Authentication comes first: an anonymous body is never parsed, so it cannot probe the limits."""
    response = APIClient().post("/api/support/tickets", {"subject": "x" * 10_000}, format="json")
    assert response.status_code == 401
