"""What the customer is writing about, read with keyword rules (no model)."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from functools import lru_cache

# Order matters: the first rule that matches wins, so narrow rules come before
# the broad ones they would otherwise lose to ("refund for a late delivery" is a
# refund; "cancel my newsletter" is about e-mails, not an order; "delivery
# address" is about the address). An issue may have more than one rule.
# Vocabulary checked against the Bitext support messages (test_issue_detection.py):
# customers say "rebate", "compensation", "status of my order", "invoice".
_ORDER_THING = r"(order|purchase|item|article|product|parcel|package|shipment|stuff|delivery)"
ISSUE_RULES: tuple[tuple[str, re.Pattern], ...] = tuple(
    (issue, re.compile(pattern, re.I))
    for issue, pattern in (
        (
            "subscription",
            r"\b(newsletters?|mailing list|unsubscrib\w*|subscri(be|bed|bing|ption)s?|"
            r"(marketing|promotional) e-?mails|e-?mails from you)\b",
        ),
        # Closing an account is account work, although it says "cancel".
        (
            "account",
            r"\b(cancel\w*|clos\w*|delet\w*|remov\w*|terminat\w*)\b(\W+\w+){0,3}?\W+(user|account|profile)\b|"
            r"\b(user|account|profile)s?\W+(deletion|cancell?ation|removal|closure)s?\b|"
            r"\b(no longer (need|want|use)|do not want|don'?t want) "
            r"(my |the |a |an )?(\w+ )?(account|user)\b",
        ),
        # An order already cancelled, and the money not back: the refund is the issue.
        (
            "refund",
            r"\bcancell?ed\b[\s\S]{0,200}\b(refund|money|reimburs)|\b(refund|money|reimburs)[\s\S]{0,200}\bcancell?ed\b",
        ),
        (
            "cancel",
            r"\bcancel\w*|\bcall off\b|\b(termination|withdrawal|early exit|exit) (fee|charge|penalt)\w*|"
            r"\bdon'?t want (it|the order|my order|the purchase|order|purchase)\b|\bstop (my|the) order\b|"
            r"\bno longer (want|need|afford|pay for)\b",
        ),
        (
            "refund",
            r"\b(refund\w*|reimburs\w*|rebat\w*|compensation\w*|restitution\w*|chargeback|repay\w*)|"
            r"\bmoney back\b|\bcompensated\b|"
            r"\b(get|got|gotten|received?|want|need|where('s| is)) (back )?my money\b",
        ),
        (
            "damaged",
            r"\b(damaged|broken|defective|faulty|cracked|scratched|smashed|torn|dented|shattered|"
            r"doesn'?t work|does not work|not working|stopped working)\b",
        ),
        (
            "wrong_item",
            r"\bwrong (item|size|colou?r|product|order|book|model|one)\b|\bnot what i ordered\b|"
            r"\b(missing|incorrect) (item|part|piece|product)s?\b|\bitems? (is|are|was|were) missing\b|"
            r"\b(sent|received|got) (me )?(the )?wrong\b",
        ),
        ("return", r"\breturn(s|ed|ing)?\b|\bexchang\w*|\bsend (it |them )?back\b"),
        ("address", r"\b(address\w*|adress\w*)\b"),
        (
            "payment",
            r"\b(charged (twice|two times|double)|double[- ]charged|overcharged|charged (me )?again)\b",
        ),
        (
            "delivery",
            r"\b(deliver\w*|shipping|shipments?|shipped|ship (to|from|internationally|abroad|overseas)|"
            r"do you ship|track\w*|parcel|package|courier|arriv\w*|late|delay\w*|eta|in transit|"
            r"where('s| is) (my |the )?" + _ORDER_THING + r"|not (yet )?received|"
            r"(has|have)n'?t (arrived|come|turned up|got here)|"
            r"status of (my |the |an? )?(order|purchase)|(order|purchase) status|"
            r"(when|how soon|how long)\b[^.?!]{0,40}\b(get|receive|expect)\b[^.?!]{0,20}"
            r"\b" + _ORDER_THING + r"|"
            r"expect (my|the|an?) " + _ORDER_THING + r"|"
            r"lost in (the )?(post|mail|transit)|(parcel|package|order|shipment) (got |was |is )?lost|"
            r"(order|purchase)\W*[\w-]*\W+(current )?status|(locat\w*|find) (my |the )?(order|purchase)|"
            r"(can|could|may) (i|we) (place an )?order from|possible to (place an )?order from)\b",
        ),
        (
            "payment",
            r"\b(payments?|pay|paid|paying|charged?|charges|card|declined|invoices?|invoiced|receipts?|bills?|"
            r"billed|billing|transaction|paypal)\b",
        ),
        (
            "account",
            r"\b(accounts?|acount|password|passcode|pwd|pin( code)?|log[ -]?in|logging in|"
            r"sign[ -]?in|signing in|sign[ -]?up|forgot(ten)? (my |the |a )?(pass|pwd|key)|"
            r"(key|password) (retrieval|recovery)|"
            r"(restor|recover|retriev|reset)\w* (the |my )?(\w+ )?(key|pass|pwd)|lost (my |a )?(key|pass\w*)|"
            r"register\w*|registration\w*|username|user (key|name|access)|access key|profile|locked out|"
            r"delete my|(creat\w*|open\w*|edit\w*|switch\w*|chang\w*|us\w*) "
            r"(a |an |my |the )?(new |another )?user|"
            r"personal (data|details|information|info))\b",
        ),
        (
            "complaint",
            r"\b(complain\w*|claim|claims|reclamation\w*|terrible|awful|disappointed|dissatisfied|unhappy|"
            r"unacceptable|worst|angry|furious|disgusted|poor service|bad service)\b",
        ),
        (
            "contact",
            r"\b(speak|speaking|talk|talking|chat|chatting|contact|contacting)\s+((to|with)\s+)?"
            r"(a |an |the |some )?"
            r"(human|person|agent|manager|someone|somebody|representative|operator|assistant|live|real|"
            r"customer|support)|"
            r"\b(customer|client) (service|support|care|assistance)\b|\blive agent\b|\bhuman agent\b|"
            r"\bphone number\b|"
            r"\b(contact|call|reach|phone|ring) (you|us|someone|somebody|support|the shop)\b|"
            r"\bget(ting)? in touch\b|\breal person\b|\brepresentative\b",
        ),
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
    issue = _first_rule(text or "")
    if issue == "general":
        # Customers misspell the one word that matters ("refnud", "cancle", "adress");
        # only when nothing matched, so a correction can never override a clear rule.
        issue = _first_rule(_SPELLING_WORD_RE.sub(_spelling_fixed, (text or "")[:SPELLING_MAX_CHARS]))
    return issue


def _first_rule(text: str) -> str:
    return next((issue for issue, rule in ISSUE_RULES if rule.search(text)), "general")


# Words the rules hinge on, each at least 6 letters: a misspelt word of 6+ letters
# at least SPELLING_CUTOFF similar to one of them (difflib ratio) is read as that
# word. Shorter words are left alone ("older" is not "order"). The list also holds
# everyday words that look like keywords, so that they stay themselves
# ("shopping" is not "shipping", "voices" is not "invoices").
SPELLING_WORDS = (
    "refund", "refunds", "reimburse", "reimbursement", "reimbursements", "rebate", "rebates",
    "compensation", "compensations", "restitution", "restitutions",
    "cancel", "cancelling", "canceling", "cancellation",
    "deliver", "delivery", "deliveries", "shipping", "shipment", "shipments", "tracking",
    "status", "parcel", "package", "purchase", "locate", "locating",
    "address", "invoice", "invoices", "payment", "payments", "password", "account", "profile",
    "register", "registration", "newsletter", "subscription", "complaint", "reclamation",
    "damaged", "broken", "return", "someone", "somebody", "person", "assistant",
    "customer", "service", "support", "chatting",
    # look-alikes that are words in their own right
    "shopping", "taking", "voices", "accounting", "prison", "someday", "location", "locations",
)  # fmt: skip
SPELLING_CUTOFF = 0.8
SPELLING_MAX_CHARS = 2_000  # bounds the cost on long conversations; the issue is stated early
_SPELLING_WORD_RE = re.compile(r"[A-Za-z]{6,}")


def _spelling_fixed(match: re.Match) -> str:
    return _closest_word(match.group(0).lower())


@lru_cache(maxsize=4096)
def _closest_word(word: str) -> str:
    close = difflib.get_close_matches(word, SPELLING_WORDS, n=1, cutoff=SPELLING_CUTOFF)
    return close[0] if close else word


def _order_refs(text: str) -> list[str]:
    # Only references with a digit, so "order status" never becomes order "status".
    return [m for m in ORDER_REF_RE.findall(text or "") if any(c.isdigit() for c in m)]
