"""Signal receivers feeding the audit log (connected by QuimbiSiteConfig.ready).

The site is the top layer, so it listens to other apps' model signals here;
the apps themselves never import the site.
"""

from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver

from intelligence.models import ModelVersion
from quimbi_site.audit import audit_record, identifier_hash
from quimbi_site.models import ClientApiKey
from support.models import AssignmentLog, SLAPolicy

UID = "quimbi_site.audit"


@receiver(user_logged_in, dispatch_uid=f"{UID}.login")
def _login(sender, request, user, **kwargs):
    audit_record(action="auth.login", target=f"user:{user.pk}", actor=f"user:{user.pk}", request=request)


@receiver(user_login_failed, dispatch_uid=f"{UID}.login_failed")
def _login_failed(sender, credentials, request=None, **kwargs):
    username = str((credentials or {}).get("username") or "")
    audit_record(
        action="auth.login_failed",
        outcome="failure",
        actor="anonymous",
        request=request,
        details={"username_hash": identifier_hash(username) if username else ""},
    )


@receiver(pre_save, sender=ClientApiKey, dispatch_uid=f"{UID}.key_pre")
def _key_remember_revoked(sender, instance, raw=False, **kwargs):
    if raw or instance._state.adding or instance.pk is None:
        instance._audit_was_revoked = None
        return
    instance._audit_was_revoked = (
        ClientApiKey.objects.filter(pk=instance.pk).values_list("revoked", flat=True).first()
    )


@receiver(post_save, sender=ClientApiKey, dispatch_uid=f"{UID}.key_post")
def _key_saved(sender, instance, created, raw=False, **kwargs):
    if raw:
        return
    target = f"api_key:{instance.prefix}"
    if created:
        audit_record(
            action="api_key.create",
            target=target,
            details={
                "scopes": list(instance.scopes or []),
                "expires": bool(instance.expiry_date),
                "revoked": bool(instance.revoked),
            },
        )
    elif instance.revoked and getattr(instance, "_audit_was_revoked", None) is False:
        audit_record(action="api_key.revoke", target=target)


@receiver(post_delete, sender=ClientApiKey, dispatch_uid=f"{UID}.key_delete")
def _key_deleted(sender, instance, **kwargs):
    audit_record(action="api_key.delete", target=f"api_key:{instance.prefix}")


@receiver(post_save, sender=ModelVersion, dispatch_uid=f"{UID}.model_version")
def _model_version_saved(sender, instance, created, raw=False, update_fields=None, **kwargs):
    if raw or not instance.active:
        return
    if created or update_fields is None or "active" in update_fields:
        audit_record(
            action="model_version.activate",
            target=f"model_version:{instance.pk}",
            details={"kind": instance.kind},
        )


@receiver(post_save, sender=SLAPolicy, dispatch_uid=f"{UID}.sla_policy")
def _sla_policy_saved(sender, instance, created, raw=False, update_fields=None, **kwargs):
    if raw:
        return
    audit_record(
        action="sla_policy.create" if created else "sla_policy.change",
        target=f"sla_policy:{instance.pk}",
        details={
            "active": instance.active,
            "position": instance.position,
            "fields": sorted(update_fields) if update_fields else [],
        },
    )


@receiver(post_delete, sender=SLAPolicy, dispatch_uid=f"{UID}.sla_policy_delete")
def _sla_policy_deleted(sender, instance, **kwargs):
    audit_record(action="sla_policy.delete", target=f"sla_policy:{instance.pk}")


@receiver(post_save, sender=AssignmentLog, dispatch_uid=f"{UID}.assignment")
def _ticket_assigned(sender, instance, created, raw=False, **kwargs):
    if raw or not created:
        return
    audit_record(
        action="ticket.assign",
        target=f"ticket:{instance.ticket_id}",
        actor=f"user:{instance.actor_id}" if instance.actor_id else None,
        details={
            "agent": instance.agent_id,
            "previous_agent": instance.previous_agent_id,
            "reason": instance.reason,
            "method": instance.method,
        },
    )
