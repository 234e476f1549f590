from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerDown

from marketing import tasks
from marketing.models import ABTest, Campaign, OutboxMessage, Segment
from marketing.tests.factories import (
    ABTestFactory,
    CampaignFactory,
    OutboxMessageFactory,
    SegmentFactory,
    VariantFactory,
)

pytestmark = pytest.mark.django_db

RULES = {
    "combinator": "and",
    "rules": [
        {"field": "churn_probability", "op": "gte", "value": 0.6},
        {"field": "predicted_ltv", "op": "between", "value": [100, 10000]},
    ],
}
VARIANTS = [
    {"name": "A", "subject_template": "Hi {{ first_name }}", "body_template": "We miss you.", "weight": 2},
    {"name": "B", "kind": "generated", "tone": "friendly"},
]


def _error(response, status, code):
    assert response.status_code == status, response.content
    body = response.json()
    assert body["error"]["code"] == code
    return body["error"]


def test_segment_crud(api_client):
    created = api_client.post("/api/marketing/segments", {"name": "At risk", "rules": RULES}, format="json")
    assert created.status_code == 201, created.content
    sid = created.json()["id"]
    assert api_client.get(f"/api/marketing/segments/{sid}").json()["rules"] == RULES
    listed = api_client.get("/api/marketing/segments").json()
    assert listed["count"] == 1 and listed["results"][0]["name"] == "At risk"
    patched = api_client.patch(f"/api/marketing/segments/{sid}", {"description": "d"}, format="json")
    assert patched.json()["description"] == "d"
    put = api_client.put(f"/api/marketing/segments/{sid}", {"name": "Renamed", "rules": RULES}, format="json")
    assert put.json()["name"] == "Renamed"
    assert api_client.delete(f"/api/marketing/segments/{sid}").status_code == 204
    assert not Segment.objects.exists()


def test_invalid_rules_come_back_in_the_error_envelope(api_client):
    bad = {"combinator": "and", "rules": [{"field": "churn_probability", "op": "gte", "value": 3}]}
    error = _error(
        api_client.post("/api/marketing/segments", {"name": "x", "rules": bad}, format="json"),
        400,
        "invalid_segment_rules",
    )
    assert "between 0 and 1" in error["details"]["rules.rules[0]"]
    _error(api_client.post("/api/marketing/segments", {"name": "x"}, format="json"), 400, "validation_error")


def test_duplicate_names_and_deleting_a_segment_in_use(api_client):
    segment = SegmentFactory(name="Taken")
    CampaignFactory(segment=segment)
    _error(
        api_client.post("/api/marketing/segments", {"name": "Taken", "rules": RULES}, format="json"),
        400,
        "validation_error",
    )
    _error(api_client.delete(f"/api/marketing/segments/{segment.pk}"), 409, "conflict")
    _error(api_client.get("/api/marketing/segments/999999"), 404, "not_found")


def test_segment_preview_and_membership_changes(api_client, platform, shoppers):
    segment = SegmentFactory(rules=RULES)
    platform.audience = shoppers[:10]
    preview = api_client.get(f"/api/marketing/segments/{segment.pk}/preview?sample_size=3").json()
    assert preview == {
        "count": 10,
        "sample": shoppers[:3],
        "filters": {
            "all": [
                {"field": "churn_probability", "op": "gte", "value": 0.6},
                {"field": "predicted_ltv", "op": "between", "value": [100.0, 10000.0]},
            ]
        },
    }
    _error(api_client.get(f"/api/marketing/segments/{segment.pk}/changes"), 400, "validation_error")
    assert api_client.post(f"/api/marketing/segments/{segment.pk}/snapshots").status_code == 201
    platform.audience = shoppers[2:12]
    api_client.post(f"/api/marketing/segments/{segment.pk}/snapshots")
    assert api_client.get(f"/api/marketing/segments/{segment.pk}/snapshots").json()["count"] == 2
    change = api_client.get(f"/api/marketing/segments/{segment.pk}/changes").json()
    assert change["entered"] == shoppers[10:12] and change["left"] == shoppers[:2] and change["stayed"] == 8
    ids = sorted(
        s["id"] for s in api_client.get(f"/api/marketing/segments/{segment.pk}/snapshots").json()["results"]
    )
    backwards = api_client.get(
        f"/api/marketing/segments/{segment.pk}/changes?from_snapshot={ids[1]}&to_snapshot={ids[0]}"
    ).json()
    assert backwards["entered"] == shoppers[:2] and backwards["left"] == shoppers[10:12]
    _error(
        api_client.get(f"/api/marketing/segments/{segment.pk}/changes?from_snapshot={ids[0]}"),
        400,
        "validation_error",
    )


def test_campaign_create_schedule_send_results(
    api_client, platform, shoppers, django_capture_on_commit_callbacks
):
    segment = SegmentFactory(rules=RULES)
    platform.audience = shoppers[:8]
    created = api_client.post(
        "/api/marketing/campaigns",
        {"name": "Win-back", "goal": "win_back", "segment": segment.pk, "variants": VARIANTS},
        format="json",
    )
    assert created.status_code == 201, created.content
    campaign = created.json()
    assert [v["name"] for v in campaign["variants"]] == ["A", "B"] and campaign["status"] == "draft"
    cid = campaign["id"]

    when = (timezone.now() + timedelta(days=1)).isoformat()
    scheduled = api_client.post(
        f"/api/marketing/campaigns/{cid}/schedule", {"scheduled_at": when}, format="json"
    )
    assert scheduled.json()["status"] == "scheduled"

    ab = api_client.post(
        "/api/marketing/ab-tests", {"campaign": cid, "conversion_window_days": 7}, format="json"
    )
    assert ab.status_code == 201, ab.content

    with django_capture_on_commit_callbacks(execute=True):
        sent = api_client.post(f"/api/marketing/campaigns/{cid}/send")
    assert sent.status_code == 202
    with django_capture_on_commit_callbacks(execute=True):
        api_client.post(f"/api/marketing/campaigns/{cid}/send")  # repeat: nothing new
    assert OutboxMessage.objects.filter(campaign_id=cid).count() == 8

    results = api_client.get(f"/api/marketing/campaigns/{cid}/results").json()
    assert results["total"] == 8 and results["counts"] == {"pending": 8}  # waiting for their send time
    assert sum(sum(v["counts"].values()) for v in results["variants"]) == 8
    assert len(mail.outbox) == 0


def test_campaign_errors(api_client):
    segment = SegmentFactory()
    bad_template = [{"name": "A", "body_template": "{{ secret }}"}]
    _error(
        api_client.post(
            "/api/marketing/campaigns",
            {"name": "c", "segment": segment.pk, "variants": bad_template},
            format="json",
        ),
        400,
        "invalid_template",
    )
    _error(
        api_client.post(
            "/api/marketing/campaigns", {"name": "c", "segment": segment.pk, "variants": []}, format="json"
        ),
        400,
        "validation_error",
    )
    done = CampaignFactory(status=Campaign.Status.SENT)
    _error(api_client.post(f"/api/marketing/campaigns/{done.pk}/send"), 409, "conflict")
    _error(
        api_client.post(
            f"/api/marketing/campaigns/{done.pk}/schedule",
            {"scheduled_at": timezone.now().isoformat()},
            format="json",
        ),
        409,
        "conflict",
    )
    _error(api_client.post("/api/marketing/campaigns/424242/send"), 404, "not_found")


def test_a_send_while_the_broker_is_down_is_accepted_and_so_is_the_clients_retry(
    api_client, platform, shoppers, monkeypatch, django_capture_on_commit_callbacks, caplog
):
    def broker_down(*args, **kwargs):
        raise BrokerDown("Error 111 connecting to 127.0.0.1:6399. Connection refused.")

    platform.audience = shoppers[:4]
    campaign = VariantFactory().campaign
    url = f"/api/marketing/campaigns/{campaign.pk}/send"
    with monkeypatch.context() as m:
        m.setattr(tasks.campaign_send, "delay", broker_down)
        for _ in range(2):  # the retry is accepted too: never "already sending", never a 500
            with django_capture_on_commit_callbacks(execute=True):
                response = api_client.post(url)
            assert response.status_code == 202, response.content
            assert response.json() == {"campaign_id": campaign.pk, "status": "sending"}
    assert "Connection refused" in caplog.text
    assert not OutboxMessage.objects.filter(campaign=campaign).exists()  # owed, for the sweep
    with django_capture_on_commit_callbacks(execute=True):
        assert api_client.post(url).status_code == 202  # the broker is back
    assert OutboxMessage.objects.filter(campaign=campaign).count() == 4


def test_ab_test_results(api_client, shoppers):
    ab_test = ABTestFactory()
    a, b = VariantFactory(campaign=ab_test.campaign), VariantFactory(campaign=ab_test.campaign)
    for i, cid in enumerate(shoppers):
        OutboxMessageFactory(
            campaign=ab_test.campaign,
            variant=a if i % 2 else b,
            customer_id=cid,
            status="sent",
            sent_at=timezone.now(),
        )
    body = api_client.get(f"/api/marketing/ab-tests/{ab_test.pk}/results").json()
    assert [v["recipients"] for v in body["variants"]] == [12, 12]
    assert body["winner"] is None and body["variants"][0]["p_value"] is None
    listed = api_client.get("/api/marketing/ab-tests").json()
    assert listed["results"][0]["id"] == ab_test.pk
    assert ABTest.objects.get().evaluated_at is not None
    campaign = api_client.get(f"/api/marketing/campaigns/{ab_test.campaign_id}/results").json()
    assert campaign["ab_test"]["ab_test_id"] == ab_test.pk


def test_auth_and_scope(anon_client, api_client, staff_client):
    from django.apps import apps

    # Referenced through the app registry: marketing code never imports the site layer.
    ClientApiKey = apps.get_model("quimbi_site", "ClientApiKey")
    assert anon_client.get("/api/marketing/segments").status_code in (401, 403)
    assert staff_client.get("/api/marketing/segments").status_code == 200
    _, support_only = ClientApiKey.objects.create_key(name="support", scopes=["support"])
    anon_client.credentials(HTTP_X_API_KEY=support_only)
    _error(anon_client.get("/api/marketing/campaigns"), 403, "permission_denied")


def test_schema_documents_the_marketing_endpoints_without_warnings(api_client, capsys):
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    paths = [p for p in schema["paths"] if p.startswith("/api/marketing/")]
    assert "/api/marketing/segments/{segment_id}/preview" in paths
    assert "/api/marketing/ab-tests/{ab_test_id}/results" in paths
    assert len(paths) == 15  # + campaigns/{id}/cancel, suppressions, suppressions/{id}
    err = capsys.readouterr().err
    assert "marketing" not in err, err
    # Query parameters carry the bounds the views enforce: a sample_size of -1 or 201 is a 400,
    # which a client reading the schema must be able to know.
    preview = schema["paths"]["/api/marketing/segments/{segment_id}/preview"]["get"]
    sample_size = next(p for p in preview["parameters"] if p["name"] == "sample_size")
    assert (sample_size["schema"]["minimum"], sample_size["schema"]["maximum"]) == (0, 200)
    # The suppression list is documented as paginated, with its filter.
    listing = schema["paths"]["/api/marketing/suppressions"]["get"]
    assert {p["name"] for p in listing["parameters"]} >= {"page", "page_size", "email"}
    assert "suppressions/{suppression_id}" in " ".join(paths)


# --- suppressions and cancel --------------------------------------------------


def test_suppression_crud(api_client):
    created = api_client.post(
        "/api/marketing/suppressions", {"email": "Bounced@Example.org", "reason": "bounced"}, format="json"
    )
    assert created.status_code == 201, created.content
    row = created.json()
    assert (row["email"], row["reason"], row["campaign"]) == ("bounced@example.org", "bounced", None)
    again = api_client.post("/api/marketing/suppressions", {"email": "bounced@EXAMPLE.org"}, format="json")
    assert again.status_code == 200 and again.json()["id"] == row["id"]
    api_client.post("/api/marketing/suppressions", {"email": "manual@example.org"}, format="json")

    listed = api_client.get("/api/marketing/suppressions").json()
    assert listed["count"] == 2 and {r["email"] for r in listed["results"]} == {
        "bounced@example.org",
        "manual@example.org",
    }
    one = api_client.get("/api/marketing/suppressions", {"email": "BOUNCED@example.org"}).json()
    assert [r["id"] for r in one["results"]] == [row["id"]]
    assert api_client.get("/api/marketing/suppressions", {"page_size": 1}).json()["next"]
    assert api_client.get(f"/api/marketing/suppressions/{row['id']}").json() == row

    assert api_client.delete(f"/api/marketing/suppressions/{row['id']}").status_code == 204
    assert api_client.get(f"/api/marketing/suppressions/{row['id']}").status_code == 404
    assert api_client.get("/api/marketing/suppressions").json()["count"] == 1


def test_suppression_input_is_validated(api_client):
    response = api_client.post("/api/marketing/suppressions", {"email": "not-an-address"}, format="json")
    assert response.status_code == 400
    response = api_client.post(
        "/api/marketing/suppressions", {"email": "a@example.org", "reason": "because"}, format="json"
    )
    assert response.status_code == 400


def test_cancel_endpoint(api_client):
    scheduled = CampaignFactory(status=Campaign.Status.SCHEDULED, scheduled_at=timezone.now())
    response = api_client.post(f"/api/marketing/campaigns/{scheduled.pk}/cancel")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "cancelled"
    assert api_client.post(f"/api/marketing/campaigns/{scheduled.pk}/cancel").status_code == 200
    sent = CampaignFactory(status=Campaign.Status.SENT)
    _error(api_client.post(f"/api/marketing/campaigns/{sent.pk}/cancel"), 409, "conflict")
    assert api_client.post("/api/marketing/campaigns/999999/cancel").status_code == 404
