"""The audit log records security-relevant actions with ids only: no secrets, no raw PII."""

import io
import json

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from ingestion.tests.factories import ExternalRefFactory
from intelligence.services import registry
from intelligence.tests.factories import CustomerIntelligenceFactory, ModelVersionFactory
from quimbi_site.audit import audit_actor, audit_record, clean_text, identifier_hash
from quimbi_site.models import AuditEvent, ClientApiKey
from support.models import AssignmentLog
from support.tests.factories import AgentFactory, PolicyFactory, TicketFactory, UserFactory

pytestmark = pytest.mark.django_db

AUDIT_MIDDLEWARE = "quimbi_site.middleware.AuditContextMiddleware"


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _events(action):
    return list(AuditEvent.objects.filter(action=action).order_by("id"))


def _with_audit_middleware(settings):
    middleware = list(settings.MIDDLEWARE)
    if AUDIT_MIDDLEWARE not in middleware:
        middleware.insert(
            middleware.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1, AUDIT_MIDDLEWARE
        )
    return override_settings(MIDDLEWARE=middleware)


def test_login_success_and_failure_are_recorded_without_the_username_or_password(client, settings):
    user = UserFactory(username="alice.smith", password="right-pass-123")
    with _with_audit_middleware(settings):
        bad = client.post(
            reverse("login"), {"username": "alice.smith", "password": "wrong"}, REMOTE_ADDR="203.0.113.9"
        )
        good = client.post(
            reverse("login"),
            {"username": "alice.smith", "password": "right-pass-123"},
            REMOTE_ADDR="203.0.113.9",
        )
    assert bad.status_code == 200 and good.status_code == 302

    (failed,) = _events("auth.login_failed")
    assert failed.outcome == "failure" and failed.actor == "anonymous" and failed.ip == "203.0.113.9"
    assert failed.details == {"username_hash": identifier_hash("alice.smith")}
    (ok,) = _events("auth.login")
    assert ok.outcome == "success" and ok.actor == f"user:{user.pk}" and ok.target == f"user:{user.pk}"

    stored = json.dumps(list(AuditEvent.objects.values()), default=str)
    for secret in ("alice.smith", "alice", "wrong", "right-pass-123", "example.com"):
        assert secret not in stored


def test_failed_login_with_crlf_in_the_username_cannot_forge_a_log_line():
    assert authenticate(username="mallory\r\nauth.login user:1", password="x") is None
    (event,) = _events("auth.login_failed")
    assert "\n" not in json.dumps(event.details) and "mallory" not in json.dumps(event.details)


def test_clean_text_strips_control_characters_and_bounds_length():
    assert clean_text("a\r\nb\x00c\u2028d") == "a b c d"
    assert len(clean_text("x" * 1000)) == 200


def test_audit_record_cleans_actor_target_and_details():
    event = audit_record(
        action="test.action\n",
        target="ticket:1\r\nforged",
        actor="user:1\nuser:2",
        details={"note\n": "line1\nline2", "nested": {"list": ["a\rb", 3, None, True]}},
    )
    event.refresh_from_db()
    assert (
        event.action == "test.action" and event.target == "ticket:1 forged" and event.actor == "user:1 user:2"
    )
    assert event.details == {"note": "line1 line2", "nested": {"list": ["a b", 3, None, True]}}
    assert event.ip is None


def test_api_key_creation_and_revocation_are_recorded_once_without_the_key():
    key, raw = ClientApiKey.objects.create_key(name="partner", scopes=["data"])
    key.name = "renamed"
    key.save()  # an ordinary change is not a revocation
    key.revoked = True
    key.save()
    key.save()  # saving an already revoked key is not a second revocation

    (created,) = _events("api_key.create")
    assert created.target == f"api_key:{key.prefix}" and created.details["scopes"] == ["data"]
    (revoked,) = _events("api_key.revoke")
    assert revoked.target == f"api_key:{key.prefix}"
    stored = json.dumps(list(AuditEvent.objects.values()), default=str)
    assert raw not in stored and raw.split(".")[1] not in stored and key.hashed_key not in stored


def test_create_api_key_command_is_recorded_with_the_command_as_actor():
    out = io.StringIO()
    call_command("create_api_key", "cli-client", "--scopes", "support", stdout=out)
    (event,) = _events("api_key.create")
    assert event.actor == "command:create_api_key"
    assert out.getvalue().strip() not in json.dumps(event.details)


def test_api_key_revoked_in_the_admin_names_the_staff_user_and_ip(staff_user, client, settings):
    staff_user.is_superuser = True
    staff_user.save()
    client.force_login(staff_user)
    key, _ = ClientApiKey.objects.create_key(name="partner")
    url = reverse("admin:quimbi_site_clientapikey_change", args=[key.pk])
    with _with_audit_middleware(settings):
        response = client.post(
            url,
            {"name": "partner", "revoked": "on", "scopes": "[]", "grants": "{}"},
            REMOTE_ADDR="198.51.100.7",
        )
    assert response.status_code == 302, response.content[:500]
    (event,) = _events("api_key.revoke")
    assert event.actor == f"user:{staff_user.pk}" and event.ip == "198.51.100.7"


def test_model_version_activation_is_recorded():
    old = ModelVersionFactory(active=True, activated_at=timezone.now())
    AuditEvent.objects.all().delete()
    new = ModelVersionFactory()
    assert _events("model_version.activate") == []  # trained, not active
    registry.version_activate(version=new)
    (event,) = _events("model_version.activate")
    assert event.target == f"model_version:{new.pk}" and event.details == {"kind": "bundle"}
    new.scored_as_of = new.as_of
    new.save(update_fields=["scored_as_of"])  # bookkeeping on the active version is not an activation
    assert len(_events("model_version.activate")) == 1
    assert old.pk != new.pk


def test_sla_policy_changes_are_recorded():
    with audit_actor("user:42"):
        policy = PolicyFactory(name="VIP")
        policy.targets["urgent"]["first_response"] = 15
        policy.save()
        policy_id = policy.pk
        policy.delete()
    events = AuditEvent.objects.filter(action__startswith="sla_policy.").order_by("id")
    actions = [(e.action, e.target, e.actor) for e in events]
    assert actions == [
        ("sla_policy.create", f"sla_policy:{policy_id}", "user:42"),
        ("sla_policy.change", f"sla_policy:{policy_id}", "user:42"),
        ("sla_policy.delete", f"sla_policy:{policy_id}", "user:42"),
    ]
    assert "VIP" not in json.dumps(list(AuditEvent.objects.values("details")))


def test_ticket_reassignment_is_recorded_with_ids_only():
    lead = UserFactory(username="lead")
    first, second = AgentFactory(), AgentFactory()
    ticket = TicketFactory(subject="My card 4111 1111 1111 1111", assignee=first)
    AssignmentLog.objects.create(
        ticket=ticket,
        agent=second,
        previous_agent=first,
        reason="manual",
        method="manual",
        actor=lead,
        created_at=timezone.now(),
    )
    (event,) = _events("ticket.assign")
    assert event.actor == f"user:{lead.pk}" and event.target == f"ticket:{ticket.pk}"
    assert event.details == {
        "agent": second.pk,
        "previous_agent": first.pk,
        "reason": "manual",
        "method": "manual",
    }
    assert "4111" not in json.dumps(list(AuditEvent.objects.values()), default=str)


def test_export_predictions_is_recorded(tmp_path):
    version = ModelVersionFactory(active=True, activated_at=timezone.now())
    for ref in ExternalRefFactory.create_batch(3):
        CustomerIntelligenceFactory(model_version=version, customer_id=str(ref.customer_id))
    out = tmp_path / "predictions.csv"
    call_command("export_predictions", "--out", str(out), verbosity=0, stdout=io.StringIO())
    assert len(out.read_text().splitlines()) == 4  # header + 3 customers
    (event,) = _events("data.export")
    assert event.actor == "command:export_predictions" and event.outcome == "success"
    assert event.details == {"file": "predictions.csv", "as_of": None, "horizon_days": None}


def test_failed_export_is_recorded_as_a_failure(tmp_path):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command(
            "export_predictions", "--out", str(tmp_path / "x.csv"), verbosity=0, stdout=io.StringIO()
        )
    (event,) = _events("data.export")
    assert event.outcome == "failure" and event.details["error"] == "CommandError"


def test_audit_admin_is_read_only(staff_user, client):
    staff_user.is_superuser = True
    staff_user.save()
    client.force_login(staff_user)
    event = audit_record(action="test.action", target="ticket:1", actor="user:1")
    changelist = client.get(reverse("admin:quimbi_site_auditevent_changelist") + "?q=test.action")
    assert changelist.status_code == 200 and b"test.action" in changelist.content
    assert client.get(reverse("admin:quimbi_site_auditevent_add")).status_code == 403
    detail = client.get(reverse("admin:quimbi_site_auditevent_change", args=[event.pk]))
    assert detail.status_code == 200 and b'name="_save"' not in detail.content
    assert (
        client.post(
            reverse("admin:quimbi_site_auditevent_delete", args=[event.pk]), {"post": "yes"}
        ).status_code
        == 403
    )
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_actor_and_ip_come_from_the_current_request_key_or_user(rf, staff_user):
    from quimbi_site.audit import audit_request

    key, _ = ClientApiKey.objects.create_key(name="caller")
    request = rf.get("/", REMOTE_ADDR="not-an-ip")
    request.auth, request.user = key, None
    with audit_request(request):
        by_key = audit_record(action="test.key")
    request = rf.get("/", REMOTE_ADDR="2001:db8::1")
    request.auth, request.user = None, staff_user
    with audit_request(request):
        by_user = audit_record(action="test.user")
    assert (by_key.actor, by_key.ip) == (f"key:{key.prefix}", None)
    assert (by_user.actor, by_user.ip) == (f"user:{staff_user.pk}", "2001:db8::1")
    assert audit_record(action="test.none").actor == "system"
