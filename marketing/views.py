"""Marketing's public pages: the unsubscribe link of campaign e-mails (no login)."""

from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from marketing.errors import InvalidUnsubscribeToken
from marketing.services import suppressions


# CSRF-exempt on purpose: the one-click POST of RFC 8058 comes from a mail client with no
# token, and the signed token in the URL is the proof that the request is the recipient's.
# The worst a forged POST can do is unsubscribe the address the link was made for.
@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe(request, token: str):
    """GET asks for confirmation (mail scanners prefetch links); POST unsubscribes, idempotently."""
    try:
        if request.method == "POST":
            done = suppressions.unsubscribe(token=token)
            return render(request, "marketing/unsubscribed.html", {"email": done.email})
        asked = suppressions.unsubscribe_token_read(token=token)
    except InvalidUnsubscribeToken:
        return render(request, "marketing/unsubscribe_invalid.html", status=400)
    return render(request, "marketing/unsubscribe_confirm.html", {"email": asked.email})
