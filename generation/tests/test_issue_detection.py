"""Issue detection on real customer wording: the Bitext support messages (labelled
with intents) and regression cases from tickets that were misread."""

import csv
from pathlib import Path

import pytest
from django.conf import settings

from generation import interface
from generation.services.conversation import issue_detect

pytestmark = pytest.mark.django_db

BITEXT = (
    Path(settings.QUIMBI_SHARED_DATA)
    / "support_tickets"
    / "Bitext_Sample_Customer_Support_Training_Dataset.csv"
)
# Bitext intent -> our issue. Left out: place_order, change_order and review, which
# have no issue of their own (they are "general"). A cancellation-fee question is
# about cancelling; invoices are billing, which we call "payment".
INTENT_ISSUE = {
    "get_refund": "refund",
    "track_refund": "refund",
    "check_refund_policy": "refund",
    "cancel_order": "cancel",
    "check_cancellation_fee": "cancel",
    "track_order": "delivery",
    "delivery_period": "delivery",
    "delivery_options": "delivery",
    "change_shipping_address": "address",
    "set_up_shipping_address": "address",
    "payment_issue": "payment",
    "check_payment_methods": "payment",
    "check_invoice": "payment",
    "get_invoice": "payment",
    "recover_password": "account",
    "registration_problems": "account",
    "create_account": "account",
    "delete_account": "account",
    "edit_account": "account",
    "switch_account": "account",
    "newsletter_subscription": "subscription",
    "complaint": "complaint",
    "contact_customer_service": "contact",
    "contact_human_agent": "contact",
}
# The keyword rules before the fix scored 0.554 on this sample (0.555 on all 4,015
# mapped rows; 0.0 for contact_customer_service); the fix scores 0.979 (0.978 on all
# rows; weakest intent delivery_options, 0.925).
MIN_ACCURACY = 0.95
MIN_INTENT_ACCURACY = 0.85


def _bitext_sample() -> list[tuple[str, str, str]]:
    """Every second mapped row (about 2,000 messages, all 24 intents, typos included)."""
    with BITEXT.open(encoding="utf-8", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["intent"] in INTENT_ISSUE]
    return [(r["intent"], r["instruction"], INTENT_ISSUE[r["intent"]]) for r in rows[::2]]


def test_detection_accuracy_on_labelled_bitext_messages():
    sample = _bitext_sample()
    assert len(sample) > 1900
    by_intent: dict[str, list[bool]] = {}
    for intent, text, want in sample:
        by_intent.setdefault(intent, []).append(issue_detect(text) == want)
    hits = [ok for oks in by_intent.values() for ok in oks]
    accuracy = sum(hits) / len(hits)
    per_intent = {intent: sum(oks) / len(oks) for intent, oks in by_intent.items()}
    weakest = min(per_intent, key=per_intent.get)
    assert accuracy >= MIN_ACCURACY, f"accuracy {accuracy:.3f}"
    assert per_intent[weakest] >= MIN_INTENT_ACCURACY, (weakest, per_intent[weakest])


@pytest.mark.parametrize(
    "text, issue",
    [
        # Bitext wording the old rules read as "general" (or as another issue)
        ("i have to demand a rebate of my money", "refund"),
        ("I'm waiting for a compensation of $299, has it been processed?", "refund"),
        ("What is the status of order 00123842?", "delivery"),
        ("How soon can I expect my order?", "delivery"),
        ("do you ship to Canada?", "delivery"),
        ("I want to cancel my newsletter subscription", "subscription"),
        ("I'd like to cancel my Gold account", "account"),
        ("I have a question about a lost password", "account"),  # "lost" is not a lost parcel
        ("I need to change the delivery address on my order", "address"),
        ("what is the early termination fee?", "cancel"),
        ("How do I contact customer service?", "contact"),
        ("I want to talk to a real person", "contact"),
        ("I want to file a claim against your company", "complaint"),
        ("My payments keep getting declined", "payment"),
        ("I was charged twice for shipping", "payment"),
        # everyday tickets
        ("I want a refund, the jacket never arrived", "refund"),
        ("I cancelled order 1002 two weeks ago and still have not got my money", "refund"),
        ("Please cancel my order #1003 before it ships", "cancel"),
        ("My parcel is a week late", "delivery"),
        ("The mug arrived broken", "damaged"),
        ("You sent me the wrong size", "wrong_item"),
        ("I'd like to return these shoes, they don't fit", "return"),
        ("I can't log in to my account", "account"),
        ("Where can I download the invoice for my last purchase?", "payment"),
        ("When will I get my invoice?", "payment"),
        # misspelt
        ("I want a refnud for order 1004", "refund"),
        ("please cancle my order", "cancel"),
        ("Where is my pakage?", "delivery"),
        # a look-alike word is not corrected into an issue
        ("I love shopping with you, do you sell gift vouchers?", "general"),
    ],
)
def test_issue_regressions(text, issue):
    assert issue_detect(text) == issue


# Demo tickets from the Bitext data: the customer's message, then the agent's reply
# (Bitext's, shortened), as `seed_demo` builds them. The agent's "log into your
# account" made a refund request "Verify identity, then fix the account access";
# "your registered email address" made a password reset a shipping-address change.
DEMO_TICKETS = [
    (
        "i have to demand a rebate of my money",
        "I understand that you want to demand a rebate for your money. We're here to guide you through the "
        'process:\n\n1. Visit our website and log into your account.\n2. Navigate to the "Order History" or '
        '"Transaction History" section.\n3. Locate the specific transaction for which you want to request a rebate.',
        "refund",
        "process_refund",
    ),
    (
        "I need help to restore my profile password",
        "I understand that you need assistance in restoring your profile password. To restore your password, "
        'please follow these steps:\n\n1. Visit the login page.\n2. Look for the "Forgot Password" option.\n'
        "3. Enter your registered email address associated with your profile.\n4. An email will be sent to "
        "your registered email address with instructions on how to reset your password.",
        "account",
        "verify_identity_and_reset",
    ),
]


@pytest.mark.parametrize("customer, agent, issue, action", DEMO_TICKETS)
def test_actions_read_the_customer_not_the_agent_reply(customer, agent, issue, action):
    profile = {
        "customer_id": "x",
        "churn": {"probability": 0.5},
        "ltv": {"predicted_spend": 300},
        "historic": {"order_count": 3, "average_order_value": 60.0},
    }
    # The context as the support app sends it (support.services.assist.ticket_draft).
    context = {
        "conversation": [{"role": "customer", "text": customer}, {"role": "agent", "text": agent}],
        "goal": "resolve_support_issue",
        "channel": "email",
        "ticket": {"subject": customer[:60], "intent": "", "priority": "normal"},
    }
    actions = interface.suggest_actions(customer_profile=profile, scenario="support_ticket", context=context)
    assert actions[0].action == action, [a.action for a in actions]
    draft = interface.generate_message(customer_profile=profile, context=context)
    assert f"Detected issue: {issue}" in draft.notes  # the draft and the actions agree
