"""What the customer is writing about, read with keyword rules (no model)."""

from __future__ import annotations

import re
from dataclasses import dataclass

# Order matters: the first issue whose rule matches wins ("refund for a late
# delivery" is a refund request).
ISSUE_RULES: tuple[tuple[str, re.Pattern], ...] = tuple(
    (issue, re.compile(pattern, re.I))
    for issue, pattern in (
        ("cancel", r"\bcancel\w*|\bcall off\b|\bdon'?t want (it|the order)\b|\bstop (my|the) order\b"),
        ("refund", r"\brefund\w*|\bmoney back\b|\breimburs\w*|\bchargeback\b"),
        ("damaged", r"\b(damaged|broken|defective|faulty|cracked|scratched|doesn'?t work|not working)\b"),
        ("wrong_item", r"\bwrong (item|size|colou?r|product|order)\b|\bnot what i ordered\b|\bmissing item"),
        ("return", r"\breturn\w*|\bexchang\w*|\bsend (it )?back\b"),
        (
            "delivery",
            r"\b(deliver\w*|shipping|shipment|shipped|track\w*|parcel|package|courier|arriv\w*|late|delay\w*|"
            r"where('s| is) (my |the )?(order|parcel|package|stuff|item)|not (yet )?received|lost)\b",
        ),
        ("address", r"\b(shipping|delivery|billing)? ?address\b"),
        (
            "payment",
            r"\b(payment|pay|paid|charged?|charges|card|declined|invoice|bill(ed|ing)?|double charged|"
            r"overcharged)\b",
        ),
        ("account", r"\b(account|password|log ?in|sign ?in|sign ?up|register|username|profile|delete my)\b"),
        ("subscription", r"\b(newsletter|subscri\w+|unsubscribe|mailing list|emails from you)\b"),
        ("complaint", r"\b(complain\w*|terrible|awful|disappointed|unacceptable|worst|angry|furious)\b"),
        ("contact", r"\b(speak|talk) to (a |an )?(human|person|agent|manager|someone)\b|\bphone number\b"),
    )
)

ISSUE_LABELS = {
    "cancel": "cancelling your order",
    "refund": "your refund",
    "damaged": "the damaged item",
    "wrong_item": "the wrong item you received",
    "return": "your return",
    "delivery": "the delivery of your order",
    "address": "your shipping address",
    "payment": "the charge on your order",
    "account": "your account",
    "subscription": "your e-mail preferences",
    "complaint": "your recent experience with us",
    "contact": "getting help from our team",
    "general": "your question",
}
# The same, naming the order the customer mentioned.
ISSUE_LABELS_WITH_ORDER = {
    "cancel": "cancelling order #{ref}",
    "refund": "your refund for order #{ref}",
    "damaged": "the damaged item in order #{ref}",
    "wrong_item": "the wrong item in order #{ref}",
    "return": "your return of order #{ref}",
    "delivery": "the delivery of order #{ref}",
    "address": "the shipping address of order #{ref}",
    "payment": "the charge on order #{ref}",
    "general": "your question about order #{ref}",
    "complaint": "your experience with order #{ref}",
}

ORDER_REF_RE = re.compile(
    r"(?:order|purchase|#)\s*(?:number|no\.?|id)?\s*#?\s*([A-Z0-9][A-Z0-9\-]{2,23})\b", re.I
)
NEGATIVE_RE = re.compile(
    r"\b(not|never|no|still|again|terrible|awful|angry|upset|frustrat\w*|disappoint\w*)\b", re.I
)
URGENT_RE = re.compile(r"\b(urgent|asap|immediately|today|right now|third time|again)\b|!!", re.I)


@dataclass(frozen=True)
class ConversationFacts:
    issue: str  # key of ISSUE_LABELS
    order_ref: str  # e.g. "1001", or ""
    last_customer_text: str
    customer_turns: int
    negative: bool
    urgent: bool

    @property
    def issue_label(self) -> str:
        if self.order_ref and self.issue in ISSUE_LABELS_WITH_ORDER:
            return ISSUE_LABELS_WITH_ORDER[self.issue].format(ref=self.order_ref)
        return ISSUE_LABELS.get(self.issue, ISSUE_LABELS["general"])


def conversation_read(conversation: list[dict] | tuple = ()) -> ConversationFacts:
    customer_texts = [
        str(turn.get("text") or "")
        for turn in conversation or ()
        if isinstance(turn, dict) and str(turn.get("role", "customer")).lower() in ("customer", "user")
    ]
    last = customer_texts[-1] if customer_texts else ""
    issue = issue_detect(last) if last else "general"
    if issue == "general" and len(customer_texts) > 1:
        issue = issue_detect(" ".join(customer_texts))
    ref = next((m for text in reversed(customer_texts) for m in _order_refs(text)), "")
    return ConversationFacts(
        issue=issue,
        order_ref=ref,
        last_customer_text=last,
        customer_turns=len(customer_texts),
        negative=bool(NEGATIVE_RE.search(last)),
        urgent=bool(URGENT_RE.search(last)) or len(customer_texts) >= 3,
    )


def issue_detect(text: str) -> str:
    return next((issue for issue, rule in ISSUE_RULES if rule.search(text or "")), "general")


def _order_refs(text: str) -> list[str]:
    # Only references with a digit, so "order status" never becomes order "status".
    return [m for m in ORDER_REF_RE.findall(text or "") if any(c.isdigit() for c in m)]
