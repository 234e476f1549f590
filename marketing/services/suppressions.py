"""The suppression list and unsubscribe links.

An unsubscribe link carries a signed token (django.core.signing with the site's SECRET_KEY)
naming the address and the campaign: the signature is the proof, so no login is needed and
a one-click POST from a mail client (RFC 8058, no CSRF token) is accepted. Tokens do not
expire: CAN-SPAM wants a link to work for at least 30 days, and people unsubscribe from old
mail. Suppressing is idempotent: one row per address, the first reason kept.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.urls import reverse

from marketing.errors import InvalidUnsubscribeToken
from marketing.models import Campaign, Suppression

_TOKEN_SALT = "marketing.unsubscribe"  # tokens signed for anything else never verify here


def email_normalize(email: str) -> str:
    """One form per address: surrounding space dropped, lowercase (providers treat it so)."""
    return (email or "").strip().lower()


# --- the list ---------------------------------------------------------------


def suppression_add(
    *, email: str, reason: str = Suppression.Reason.MANUAL, campaign: Campaign | None = None
) -> tuple[Suppression, bool]:
    """(row, created). An address already suppressed keeps its row: asking twice is harmless."""
    address = email_normalize(email)
    try:
        with transaction.atomic():
            row, created = Suppression.objects.get_or_create(
                email=address, defaults={"reason": reason, "campaign": campaign}
            )
    except IntegrityError:  # a concurrent request inserted it between the get and the create
        row, created = Suppression.objects.get(email=address), False
    return row, created


def suppression_remove(*, suppression: Suppression) -> None:
    """Lift a suppression (the person asked to hear from us again). Later sends reach them."""
    suppression.delete()


def suppressed_reasons(*, emails: Iterable[str]) -> dict[str, str]:
    """{normalised address: reason} for the given addresses on the list: one query."""
    addresses = {email_normalize(e) for e in emails if e}
    if not addresses:
        return {}
    return dict(Suppression.objects.filter(email__in=addresses).values_list("email", "reason"))


def outbox_reason(*, reason: str) -> str:
    """What an outbox row suppressed by the list says (shown in results and the admin)."""
    return f"suppression_{reason}"


# --- unsubscribe links ------------------------------------------------------


@dataclass(frozen=True)
class UnsubscribeRequest:
    email: str
    campaign_id: int | None


def unsubscribe_token(*, email: str, campaign_id: int | None) -> str:
    # URL-safe (base64 and ":"), so it fits in a path segment.
    return signing.dumps({"e": email_normalize(email), "c": campaign_id}, salt=_TOKEN_SALT, compress=True)


def unsubscribe_token_read(*, token: str) -> UnsubscribeRequest:
    try:
        data = signing.loads(token, salt=_TOKEN_SALT)
    except signing.BadSignature as exc:
        raise InvalidUnsubscribeToken() from exc
    if not isinstance(data, dict) or not isinstance(data.get("e"), str) or not data["e"]:
        raise InvalidUnsubscribeToken()  # signed by us but not a token of this shape
    campaign_id = data.get("c")
    return UnsubscribeRequest(
        email=data["e"], campaign_id=campaign_id if isinstance(campaign_id, int) else None
    )


def unsubscribe_url(*, email: str, campaign_id: int | None) -> str:
    """Absolute link for e-mails, under QUIMBI_PUBLIC_URL (e-mails have no request to build from)."""
    path = reverse(
        "marketing_pages:unsubscribe", args=[unsubscribe_token(email=email, campaign_id=campaign_id)]
    )
    return settings.QUIMBI_PUBLIC_URL.rstrip("/") + path


def unsubscribe(*, token: str) -> UnsubscribeRequest:
    """Put the token's address on the list (reason unsubscribed). Idempotent."""
    request = unsubscribe_token_read(token=token)
    campaign = Campaign.objects.filter(pk=request.campaign_id).first() if request.campaign_id else None
    suppression_add(email=request.email, reason=Suppression.Reason.UNSUBSCRIBED, campaign=campaign)
    return request
