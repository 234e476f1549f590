"""What keeps customer text and model output safe.

- `redact_pii`: e-mail addresses, phone numbers and card numbers (Luhn-checked)
  are replaced by placeholders before anything leaves for a remote model.
- `delimit_customer_text`: customer-written text goes inside <customer_message>
  tags; anything in it that looks like our delimiters is escaped, so the text
  can never close the block and speak as instructions.
- `parse_model_output`: the model must answer one JSON object {subject, body,
  notes} within length caps; anything else is rejected (callers fall back).
- `action_claims`: sentences telling the customer that something was already
  done ("I've added $5 credit", "your refund has been processed"). A draft goes
  out as the agent's own words and nothing has been done when it is written, so
  a model answer with such a claim is rejected like any other bad output.
- `injection_signals`: names the prompt-injection patterns found (logged, and
  shown to the agent), which never change what we do.
- `render_html`: the only way generated text becomes HTML: escaped, with line breaks.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from django.utils.html import escape, linebreaks

from generation.errors import InvalidModelOutput

EMAIL_RE = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+")
# 13-19 digits, optionally grouped by spaces or dashes.
CARD_RE = re.compile(r"(?<!\d)(?:\d[ \-]?){12,18}\d(?!\d)")
# International or national numbers with 7-15 digits, separators allowed.
PHONE_RE = re.compile(r"(?<![\w])(?:\+|00)?\d[\d \-().]{5,18}\d(?![\w])")

_DATE_RE = re.compile(r"^(\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4})$")

SUBJECT_MAX = 150
BODY_MAX = {"email": 4000, "chat": 1200, "sms": 160}
NOTES_MAX = 1000


def luhn_valid(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def redact_pii(text: str) -> tuple[str, tuple[str, ...]]:
    """The text with PII replaced, and the kinds redacted (e.g. ("email", "card"))."""
    found: list[str] = []

    def _email(m: re.Match) -> str:
        found.append("email")
        return "[email redacted]"

    def _card(m: re.Match) -> str:
        digits = re.sub(r"\D", "", m.group(0))
        # Payment card numbers start with 2-6 (Mastercard, Amex, Visa, Discover...).
        if 13 <= len(digits) <= 19 and digits[0] in "23456" and luhn_valid(digits):
            found.append("card")
            return "[card number redacted]"
        return m.group(0)

    def _phone(m: re.Match) -> str:
        raw = m.group(0)
        digits = re.sub(r"\D", "", raw)
        # Bare digit runs are order numbers more often than phones; a phone has
        # separators or a leading + / 00, and 7-15 digits.
        if not 7 <= len(digits) <= 15:
            return raw
        if raw.isdigit() and not raw.startswith("00"):
            return raw
        if _DATE_RE.match(raw.strip()):
            return raw
        found.append("phone")
        return "[phone redacted]"

    text = EMAIL_RE.sub(_email, text)
    text = CARD_RE.sub(_card, text)
    text = PHONE_RE.sub(_phone, text)
    return text, tuple(dict.fromkeys(found))


_TAG_RE = re.compile(
    r"<\s*/?\s*(customer_message|customer_profile|conversation|instructions|system)\b[^>]*>", re.I
)


def delimit_customer_text(text: str, *, role: str = "customer") -> str:
    """Customer text in a delimited block; our tags inside it are neutralised."""
    safe = _TAG_RE.sub(lambda m: m.group(0).replace("<", "&lt;").replace(">", "&gt;"), text)
    role = "agent" if role == "agent" else "customer"
    return f'<customer_message role="{role}">\n{safe}\n</customer_message>'


INJECTION_PATTERNS: dict[str, re.Pattern] = {
    "override_instructions": re.compile(
        r"\b(ignore|disregard|forget|override)\b.{0,40}\b(previous|prior|above|earlier|all|your)\b.{0,20}"
        r"\b(instructions?|rules|prompts?|directions)\b",
        re.I | re.S,
    ),
    "system_prompt_request": re.compile(
        r"(system\s*prompt|your\s+(instructions|prompt|rules)|reveal.{0,30}(prompt|instructions))", re.I
    ),
    "role_play": re.compile(r"\b(you are now|act as|pretend to be|developer mode|jailbreak)\b", re.I),
    "markup": re.compile(r"<\s*(script|img|iframe|svg|object|embed|style)\b|on\w+\s*=|javascript:", re.I),
    "exfiltration_link": re.compile(r"!\[[^\]]*\]\(\s*https?://", re.I),
}


def injection_signals(text: str) -> tuple[str, ...]:
    return tuple(name for name, pattern in INJECTION_PATTERNS.items() if pattern.search(text or ""))


# Past participles of the actions a draft must never report as done: money,
# credit and discounts, shipments and replacements, cancellations, hand-offs.
_DONE = (
    r"(added|applied|issued|refunded|credited|reimbursed|processed|waived|approved|initiated|submitted|"
    r"sent|re-?sent|shipped|re-?shipped|dispatched|posted|arranged|replaced|expedited|upgraded|"
    r"cancell?ed|escalated|forwarded|passed|opened|booked|scheduled|generated|created|activated)"
)
_DONE_MONEY = r"(added|applied|issued|refunded|credited|reimbursed|processed|waived)"
_ADVERBS = (
    r"(?:(?:already|also|just|now|since|personally|successfully|fully|automatically|gone ahead and)\s+)*"
)
# Not a claim: owning up to our mistake ("we've sent you the wrong size").
_NOT_A_MISTAKE = r"(?!\s+(?:you\s+)?(?:the|a|an)\s+(?:wrong|incorrect|damaged|broken)\b)"
ACTION_CLAIM_RE = re.compile(
    # I've added / we have already issued / I have gone ahead and refunded
    rf"\b(?:I|we)\s*(?:'|\u2019)?\s*(?:ve|have)\s+{_ADVERBS}{_DONE}\b{_NOT_A_MISTAKE}"
    # I added / we just credited / I went ahead and applied (money verbs only: "we sent
    # you the wrong item" is an apology, not a claim)
    rf"|\b(?:I|we)\s+(?:(?:already|also|just|went ahead and)\s+)?{_DONE_MONEY}\b"
    # your refund has been processed / a credit has now been added
    rf"|\b(?:has|have|had)\s+(?:now\s+|already\s+|just\s+)?been\s+{_DONE}\b{_NOT_A_MISTAKE}"
    # a replacement is on its way
    r"|\b(?:replacement|refund|credit|voucher|discount|code|label|item|order|parcel|package)\s+"
    r"(?:is|are)\s+(?:now\s+|already\s+)?on\s+(?:its|their|the)\s+way\b",
    re.I,
)


def action_claims(text: str) -> tuple[str, ...]:
    """The phrases in `text` that tell the customer an action was already taken."""
    return tuple(m.group(0) for m in ACTION_CLAIM_RE.finditer(text or ""))


@dataclass(frozen=True)
class ParsedOutput:
    subject: str
    body: str
    notes: str


_FENCE_RE = re.compile(r"^```(?:json)?\s*|\s*```$", re.I)
_MD_IMAGE_RE = re.compile(r"!\[[^\]]*\]\([^)]*\)")
_JS_LINK_RE = re.compile(r"javascript\s*:", re.I)


def parse_model_output(text: str, *, channel: str) -> ParsedOutput:
    """Parse and check the model's answer; raise InvalidModelOutput otherwise."""
    raw = _FENCE_RE.sub("", (text or "").strip())
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise InvalidModelOutput("invalid_output_not_json") from exc
    if not isinstance(data, dict) or not isinstance(data.get("body"), str):
        raise InvalidModelOutput("invalid_output_schema")
    subject, body, notes = data.get("subject", ""), data["body"].strip(), data.get("notes", "")
    if not isinstance(subject, str) or not isinstance(notes, str):
        raise InvalidModelOutput("invalid_output_schema")
    if not body:
        raise InvalidModelOutput("invalid_output_empty")
    if len(body) > BODY_MAX.get(channel, BODY_MAX["email"]) or len(subject) > SUBJECT_MAX:
        raise InvalidModelOutput("invalid_output_too_long")
    if len(notes) > NOTES_MAX:
        notes = notes[:NOTES_MAX]
    if channel == "email" and not subject.strip():
        raise InvalidModelOutput("invalid_output_missing_subject")
    if action_claims(subject + "\n" + body):
        # Rejected, not rewritten: a rewrite ("I've added" -> "I can add") breaks on
        # passives and tenses, and a half-fixed claim is worse than the offline draft.
        raise InvalidModelOutput("invalid_output_claims_action")
    # Inert anyway once escaped; removing them also keeps plain-text e-mail clean.
    body = _JS_LINK_RE.sub("", _MD_IMAGE_RE.sub("", body))
    return ParsedOutput(subject=subject.strip() if channel == "email" else "", body=body, notes=notes.strip())


def render_html(text: str) -> str:
    """Generated text as HTML: every character escaped, paragraphs kept."""
    return linebreaks(escape(text), autoescape=False)
