# ruff: noqa: E501  (customer-facing sentences read better unbroken)
"""Deterministic messages composed from the profile and the conversation.

No network and no randomness: the same request always gives the same text.
Customer-written text is never copied into the output (only an order number
that was read from it), so nothing a customer writes can steer what we send.
"""

from __future__ import annotations

import re

from generation.backends.base import BackendResult, GenerationBackend, MessageRequest
from generation.services.offers import offer_for_profile, offer_phrase
from generation.services.profiles import Profile

SMS_MAX = 160

RESOLUTION = {
    "refund": "I'll pass your refund request{order} to our billing team. Once it is approved the money goes back "
    "to your original payment method, usually within 5-10 business days, and I'll confirm by e-mail.",
    "delivery": "I'll open a trace{order} with our shipping team and send you a tracking update within one "
    "business day. If the parcel does not turn up, we can reship it or refund it - your choice.",
    "cancel": "I'll ask our fulfilment team to cancel{order_the}. If it hasn't shipped yet you'll get a "
    "confirmation shortly; if it is already on its way, you can refuse the delivery or return it for a full refund.",
    "damaged": "I'd like to send you a replacement for the damaged item{order} at no cost to you. A photo of the "
    "damage helps our quality team, but it won't hold up your replacement.",
    "wrong_item": "We'll send the right item{order} straight away and e-mail you a prepaid label for the one you "
    "received.",
    "return": "I'll e-mail you a prepaid return label{order}; your refund or exchange is processed as soon as the "
    "parcel is scanned by the carrier.",
    "address": "Please reply with the corrected address and I'll update{order_the} before it ships.",
    "payment": "I'll ask our billing team to check the charge{order}. If you were charged twice or the wrong amount, "
    "the difference is refunded to your card and I'll confirm the outcome. For your security, please never send full "
    "card numbers by message.",
    "account": "For your security I can't change account details here, but 'Forgot password' on the sign-in page "
    "resets it in a minute. If that e-mail doesn't arrive, tell me and I'll verify your identity and fix it for you.",
    "subscription": "I'll update your e-mail preferences now; messages that were already scheduled can take up to "
    "48 hours to stop.",
    "complaint": "I'll share your feedback with our team lead, and I want to put this right. Tell me what would make "
    "this right for you and I'll make it happen where I can.",
    "contact": "You're talking to a person on our support team, and I'll stay with this until it's sorted. If you "
    "prefer a call, reply with a good time and we'll ring you.",
    "general": "I'm looking into this now and will come back to you within one business day. If you have an order "
    "number or any detail to add, just reply here.",
}

EMPATHY = {
    "refund": "I understand how frustrating it is to wait for your money.",
    "delivery": "I know how frustrating it is to wait for a parcel that hasn't arrived.",
    "cancel": "I understand plans change, and I'll make this easy.",
    "damaged": "I'm really sorry your order arrived damaged - that's not the experience we want for you.",
    "wrong_item": "I'm sorry we got this wrong; I know how annoying it is.",
    "complaint": "I'm truly sorry - you deserved better from us.",
    "payment": "I understand an unexpected charge is worrying.",
}

SMS_RESOLUTION = {
    "refund": "we'll pass your refund request{order} to billing; refunds take 5-10 business days once approved.",
    "delivery": "we'll open a trace{order} and text you an update within 1 business day.",
    "cancel": "we'll ask our team to cancel{order_the} and confirm shortly.",
    "damaged": "we'd like to send you a free replacement{order}.",
    "wrong_item": "we'll send the right item{order}, with a free return label.",
    "return": "we'll e-mail you a prepaid return label{order}.",
    "address": "reply with the new address and we'll update{order_the}.",
    "payment": "we'll ask billing to check the charge{order} and confirm the outcome.",
    "account": "use 'Forgot password' at sign-in, or reply and we'll help.",
    "subscription": "we'll update your e-mail preferences.",
    "complaint": "sorry - we'll ask a team lead to review this and contact you.",
    "contact": "reply with a good time and we'll call you.",
    "general": "we're on it and will reply within 1 business day.",
}

ISSUE_TITLES = {
    "refund": "Your refund request",
    "delivery": "Your delivery",
    "cancel": "Your cancellation request",
    "damaged": "Your damaged item",
    "wrong_item": "Getting you the right item",
    "return": "Your return",
    "address": "Updating your address",
    "payment": "About the charge",
    "account": "Your account",
    "subscription": "Your e-mail preferences",
    "complaint": "Putting things right",
    "contact": "We're here to help",
    "general": "Your question",
}

MARKETING_GOALS = ("nurture_lead", "upsell", "win_back", "welcome", "review_request", "retention")

_CONTRACTIONS = {
    "I'm": "I am",
    "I'll": "I will",
    "I've": "I have",
    "I'd": "I would",
    "we'll": "we will",
    "we've": "we have",
    "we're": "we are",
    "we'd": "we would",
    "you'll": "you will",
    "you're": "you are",
    "you've": "you have",
    "you'd": "you would",
    "don't": "do not",
    "doesn't": "does not",
    "can't": "cannot",
    "won't": "will not",
    "isn't": "is not",
    "hasn't": "has not",
    "haven't": "have not",
    "it's": "it is",
    "that's": "that is",
    "here's": "here is",
    "let's": "let us",
    "didn't": "did not",
    "aren't": "are not",
    "wasn't": "was not",
    "there's": "there is",
    "what's": "what is",
}
_FORMAL = [
    (re.compile(rf"\b{re.escape(short[0].upper() + short[1:])}\b"), long[0].upper() + long[1:])
    for short, long in _CONTRACTIONS.items()
] + [(re.compile(rf"\b{re.escape(short)}\b"), long) for short, long in _CONTRACTIONS.items()]


_PAIRS = {
    "sports outdoors",
    "home kitchen",
    "jewelry accessories",
    "grocery gourmet",
    "health beauty",
    "toys games",
    "arts crafts",
    "tools home",
    "clothing shoes",
}


def category_label(slug: str) -> str:
    """'sports_outdoors' -> 'Sports & Outdoors'; 'Jazz' stays 'Jazz'."""
    words = str(slug).replace("_", " ").replace("-", " ").split()
    if not words:
        return ""
    if " ".join(words).lower() in _PAIRS:
        return " & ".join(w.capitalize() for w in words)
    return " ".join(w if w[:1].isupper() else w.capitalize() for w in words)


class OfflineBackend(GenerationBackend):
    name = "offline"
    model = "offline-rules-v1"

    def generate(self, request: MessageRequest) -> BackendResult:
        composer = _Composer(request)
        subject, body = composer.compose()
        return BackendResult(
            subject=subject,
            body=body,
            notes=composer.notes(),
            backend=self.name,
            model=self.model,
            reasoning=tuple(composer.reasoning),
        )


class _Composer:
    def __init__(self, request: MessageRequest):
        self.r = request
        self.p: Profile = request.profile
        self.f = request.facts
        self.reasoning: list[str] = []
        self.offer = offer_for_profile(profile=self.p)
        self._offer_used = False

    # --- facts in words -------------------------------------------------------
    @property
    def name(self) -> str:
        return self.p.first_name

    def order_fill(self, text: str) -> str:
        ref = self.f.order_ref
        return text.format(
            order=f" for order #{ref}" if ref else "",
            order_the=f" order #{ref}" if ref else " your order",
        )

    def categories(self, n: int = 2) -> str:
        cats = [category_label(c) for c in self.p.top_categories[:n]]
        if not cats:
            return ""
        self._note(f"used top categories: {', '.join(cats)}")
        return cats[0] if len(cats) == 1 else ", ".join(cats[:-1]) + " and " + cats[-1]

    def last_order(self) -> str:
        if self.p.last_order_at is None:
            return ""
        d = self.p.last_order_at
        self._note(f"used last order date {d:%Y-%m-%d}")
        return f"{d.day} {d:%B %Y}"

    def offer_words(self) -> str:
        phrase = offer_phrase(self.offer)
        if phrase:
            self._offer_used = True
            self._note(f"offer: {self.offer.offer_type} capped at {self.offer.max_discount_value:.2f}")
        return phrase

    def _note(self, text: str) -> None:
        if text not in self.reasoning:
            self.reasoning.append(text)

    # --- composition ----------------------------------------------------------
    def compose(self) -> tuple[str, str]:
        self._note(
            f"goal {self.r.goal}, channel {self.r.channel}, tone {self.r.tone}, length {self.r.length}"
        )
        if self.r.goal == "resolve_support_issue":
            self._note(
                f"detected issue: {self.f.issue}"
                + (f" (order #{self.f.order_ref})" if self.f.order_ref else "")
            )
        if self.r.channel == "sms":
            return "", self._sms()
        core = getattr(self, f"_{self.r.goal}", self._resolve_support_issue)()
        paragraphs = self._shape(core)
        if self.r.channel == "email":
            body = "\n\n".join([self._greeting(), *paragraphs, self._signoff()])
            subject = self._subject()
        else:
            body = "\n\n".join([self._greeting(), *paragraphs])
            subject = ""
        return self._tone_pass(subject), self._tone_pass(body)

    def _shape(self, core: dict) -> list[str]:
        """core: {"lead", "main", "personal", "extra", "close"}; length and tone pick the parts."""
        tone, length = self.r.tone, self.r.length
        parts = [core["lead"], core["main"]]
        if tone != "concise" and length in ("medium", "long") and core.get("personal"):
            parts.append(core["personal"])
        if length == "long" and tone != "concise" and self.r.channel == "email" and core.get("extra"):
            parts.append(core["extra"])
        parts.append(core["close"])
        if self.r.channel == "chat":
            parts = [p for p in parts if p]
        return [p for p in parts if p]

    def _greeting(self) -> str:
        tone = self.r.tone
        if tone == "formal":
            return f"Dear {self.name}," if self.name else "Dear customer,"
        if tone == "friendly":
            return f"Hi {self.name}!" if self.name else "Hi there!"
        return f"Hi {self.name}," if self.name else "Hello,"

    def _signoff(self) -> str:
        return {
            "empathetic": "Warm regards,\nThe Customer Care Team",
            "friendly": "Cheers,\nThe Customer Care Team",
            "formal": "Kind regards,\nCustomer Service",
            "concise": "Thanks,\nCustomer Care",
        }.get(self.r.tone, "Best regards,\nCustomer Care")

    def _tone_pass(self, text: str) -> str:
        if self.r.tone == "formal":
            for pattern, repl in _FORMAL:
                text = pattern.sub(repl, text)
            text = text.replace("!", ".")
        return text

    def _loyalty(self) -> str:
        n = self.p.order_count
        if n >= 3 or self.p.ltv_tier in ("high", "vip"):
            self._note(f"loyal customer: {n} orders, value tier {self.p.ltv_tier}")
            return (
                f"You've placed {n} orders with us, and we really value your loyalty."
                if n >= 2
                else ("We really value you as a customer.")
            )
        return ""

    # --- goals ----------------------------------------------------------------
    def _resolve_support_issue(self) -> dict:
        issue = self.f.issue
        tone = self.r.tone
        label = self._issue_label()
        if tone == "empathetic" and issue in ("complaint", "damaged", "wrong_item"):
            lead = EMPATHY[issue]
        elif tone == "empathetic":
            lead = f"I'm sorry for the trouble with {label}. " + EMPATHY.get(
                issue, "Thank you for your patience while I sort it out."
            )
        elif tone == "formal":
            lead = f"Thank you for contacting us about {label}."
        elif tone == "concise":
            lead = f"Thanks for your message about {label}."
        else:
            lead = f"Thanks for getting in touch about {label} - happy to help!"
        main = self.order_fill(RESOLUTION.get(issue, RESOLUTION["general"]))
        personal = self._loyalty()
        churn, tier = self.p.churn_band, self.p.ltv_tier
        if churn == "high" and tier in ("medium", "high", "vip") and issue != "account":
            words = self.offer_words()
            if words:
                personal = (personal + " " if personal else "") + (
                    f"As a thank-you for your patience, I'd like to offer you {words}."
                )
        if churn == "high" and issue in ("delivery", "damaged", "wrong_item") and tier in ("high", "vip"):
            main += " I'd also like to send it with express shipping at our cost."
            self._note("expedited shipping: high churn risk and high value")
        cats = self.categories(1)
        extra = (
            f"While I sort this out: our new arrivals in {cats} are on the site whenever you'd like a look."
            if cats and issue not in ("complaint", "cancel", "refund")
            else "If anything else comes up in the meantime, just reply to this message - it comes straight to me."
        )
        close = {
            "concise": "Anything else, just reply.",
            "formal": "Please do not hesitate to reply if there is anything further we can do.",
            "friendly": "Anything else I can help with?",
        }.get(tone, "Please let me know if there's anything else I can do for you.")
        return {"lead": lead, "main": main, "personal": personal, "extra": extra, "close": close}

    def _issue_label(self) -> str:
        return self.f.issue_label

    def _nurture_lead(self) -> dict:
        cats = self.categories()
        lead = (
            "Thanks for your interest in our shop."
            if self.p.order_count == 0
            else ("Thanks again for shopping with us.")
        )
        main = (
            f"Since you've been looking at {cats}, we've put together a few favourites our customers love "
            "- each one picked by our team."
            if cats
            else "We've put together a short guide to our best-sellers and how customers use them."
        )
        personal = (
            "If you have a question about sizes, delivery or returns, reply and a real person will answer."
        )
        words = self.offer_words() if self.p.order_count == 0 else ""
        extra = f"To make your first order easier, we'd like to offer you {words}." if words else ""
        return self._marketing_parts(lead, main, personal, extra)

    def _upsell(self) -> dict:
        cats = self.categories()
        last = self.last_order()
        lead = f"Thanks for your order on {last}." if last else "Thanks for shopping with us."
        main = (
            f"Customers who love {cats} as much as you do often go for our premium range next - "
            "better materials, longer warranty, and free shipping included."
            if cats
            else "Many customers who bought what you did step up to our premium range next - better materials, a "
            "longer warranty and free shipping included."
        )
        personal = self._loyalty()
        extra = "Every premium item can be returned within 30 days, so there's no risk in trying it."
        return self._marketing_parts(lead, main, personal, extra)

    def _win_back(self) -> dict:
        days = self.p.days_since_last_order
        last = self.last_order()
        if days is not None:
            self._note(f"used days since last order: {days}")
        lead = (
            f"It's been a while since your last order on {last}, and we've missed you."
            if last
            else "It's been a while, and we've missed you."
        )
        cats = self.categories()
        main = (
            f"A lot has arrived in {cats} since then - new titles and restocks of customer favourites."
            if cats
            else "A lot has changed since then - new arrivals, faster delivery and easier returns."
        )
        words = self.offer_words()
        personal = f"To welcome you back, we'd like to offer you {words}." if words else self._loyalty()
        extra = "If something put you off last time, reply and tell us - we read every answer."
        return self._marketing_parts(lead, main, personal, extra)

    def _welcome(self) -> dict:
        last = self.last_order()
        if self.p.order_count >= 2:
            lead = f"Thank you for your {self.p.order_count} orders with us so far - it's great to have you here."
        else:
            lead = f"Welcome, and thank you for your first order{' on ' + last if last else ''}!"
        cats = self.categories()
        main = (
            f"As a fan of {cats}, you'll get early word of new arrivals there."
            if cats
            else "You'll hear from us when there's something genuinely worth your time - no spam."
        )
        personal = "Track your order from your account page, and returns are free within 30 days."
        extra = "Questions at any point? Just reply - a person on our team reads every message."
        return self._marketing_parts(lead, main, personal, extra)

    def _review_request(self) -> dict:
        last = self.last_order()
        cats = self.categories(1)
        what = f"your {cats} order" if cats else "your recent order"
        lead = f"We hope you're enjoying {what}{' from ' + last if last else ''}."
        main = "Would you take a minute to leave a quick review? It helps other customers choose and tells us what to "
        main += "improve."
        personal = self._loyalty()
        extra = "If anything wasn't right, reply to this message instead and we'll fix it first."
        return self._marketing_parts(lead, main, personal, extra)

    def _retention(self) -> dict:
        lead = "We wanted to say thank you for shopping with us" + (
            f" - {self.p.order_count} orders so far." if self.p.order_count >= 2 else "."
        )
        cats = self.categories()
        main = (
            f"New arrivals have landed in {cats}, and we think you'll like a few of them."
            if cats
            else "New arrivals have landed, and we think you'll like a few of them."
        )
        words = self.offer_words()
        personal = f"As a thank-you, we'd like to offer you {words}." if words else self._loyalty()
        extra = "Tell us what would make shopping with us better - every reply is read by the team."
        return self._marketing_parts(lead, main, personal, extra)

    def _marketing_parts(self, lead: str, main: str, personal: str, extra: str) -> dict:
        return {
            "lead": lead,
            "main": main,
            "personal": personal,
            "extra": extra,
            "close": self._marketing_close(),
        }

    def _marketing_close(self) -> str:
        return {
            "concise": "Browse when you're ready.",
            "formal": "We look forward to welcoming you back.",
            "friendly": "Happy browsing!",
        }.get(self.r.tone, "We'd love to see you again soon.")

    def _subject(self) -> str:
        goal = self.r.goal
        cats = category_label(self.p.top_categories[0]) if self.p.top_categories else ""
        if goal == "resolve_support_issue":
            title = ISSUE_TITLES.get(self.f.issue, ISSUE_TITLES["general"])
            return f"{title} - order #{self.f.order_ref}" if self.f.order_ref else title
        name = f", {self.name}" if self.name else ""
        subjects = {
            "nurture_lead": f"Picked for you: favourites in {cats}"
            if cats
            else "Our best-sellers, picked for you",
            "upsell": f"The next step up in {cats}" if cats else "Our premium range, picked for you",
            "win_back": f"We've missed you{name}" + (" - an offer inside" if self._offer_used else ""),
            "welcome": f"Welcome{name} - here's what's next",
            "review_request": "How was your order?",
            "retention": f"A thank-you from us{name}",
        }
        return subjects.get(goal, "A message from our team")

    # --- sms ------------------------------------------------------------------
    def _sms(self) -> str:
        hi = f"Hi {self.name}, " if self.name else "Hi, "
        goal = self.r.goal
        stop = " Reply STOP to opt out." if goal in MARKETING_GOALS else ""
        cats = category_label(self.p.top_categories[0]) if self.p.top_categories else ""
        if cats:
            self._note(f"used top categories: {cats}")
        words = self.offer_words() if goal in ("win_back", "retention") else ""
        if goal == "resolve_support_issue":
            sorry = "sorry for the trouble - " if self.r.tone == "empathetic" else ""
            candidates = [
                hi + sorry + self.order_fill(SMS_RESOLUTION.get(self.f.issue, SMS_RESOLUTION["general"]))
            ]
        else:
            texts = {
                "nurture_lead": f"new favourites in {cats} are in. Take a look when you're ready."
                if cats
                else "our best-sellers are picked for you. Take a look when you're ready.",
                "upsell": f"our premium {cats} range is in, with free shipping."
                if cats
                else "our premium range is in, with free shipping.",
                "win_back": "we've missed you!"
                + (f" We'd like to offer you {words}." if words else "")
                + (f" New {cats} just arrived." if cats else ""),
                "welcome": "welcome and thanks for your order! Track it any time from your account.",
                "review_request": "how was your order? A quick review helps others choose.",
                "retention": "thanks for shopping with us!"
                + (f" We'd like to offer you {words}." if words else ""),
            }
            candidates = [
                hi + texts.get(goal, "thanks for being a customer.") + stop,
                hi + texts.get(goal, "") + stop,
            ]
        candidates.append(candidates[0][: SMS_MAX - len(stop)].rsplit(" ", 1)[0].rstrip(",;-") + "." + stop)
        text = next(c for c in candidates if len(c) <= SMS_MAX)
        return self._tone_pass(text) if len(self._tone_pass(text)) <= SMS_MAX else text

    # --- notes for the agent --------------------------------------------------
    def notes(self) -> str:
        p = self.p
        lines = []
        if p.archetype:
            lines.append(f"Archetype: {p.archetype}.")
        churn = f"{p.churn_probability:.0%}" if p.churn_probability is not None else "unknown"
        lines.append(
            f"Churn risk {p.churn_band} ({churn}); value tier {p.ltv_tier}"
            + (f", predicted 12-month value ${p.predicted_ltv:,.2f}." if p.predicted_ltv is not None else ".")
        )
        if p.churn_factors:
            lines.append("Risk factors: " + "; ".join(f.rstrip(". ") for f in p.churn_factors[:3]) + ".")
        if p.churn_recommendations:
            lines.append(
                "Model suggests: " + "; ".join(r.rstrip(". ") for r in p.churn_recommendations[:2]) + "."
            )
        if self.r.goal == "resolve_support_issue":
            lines.append(
                f"Detected issue: {self.f.issue}"
                + (f", order #{self.f.order_ref}" if self.f.order_ref else "")
                + (", customer sounds upset" if self.f.negative else "")
                + "."
            )
        if self._offer_used:
            # The draft only proposes it; nothing is applied until the agent does it.
            lines.append(f"Offer proposed (not applied yet; apply it if you send this): {self.offer.reason}")
        lines.append("Check the promises (timelines, refunds) against policy before sending.")
        return " ".join(lines)
