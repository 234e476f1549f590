import pytest
from django.urls import reverse

from marketing.models import Journey, JourneyStep, SegmentSnapshot
from marketing.tests.factories import (
    ABTestFactory,
    JourneyEnrollmentFactory,
    JourneyStepFactory,
    OutboxMessageFactory,
    SegmentSnapshotFactory,
    SuppressionFactory,
    VariantFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, django_user_model):
    user = django_user_model.objects.create_superuser(
        username="boss", password="pw-12345678", email="b@x.org"
    )
    client.force_login(user)
    return client


@pytest.fixture
def objects():
    variant = VariantFactory()
    step = JourneyStepFactory(journey__campaign=variant.campaign, kind="send", variant=variant)
    return {
        "segment": variant.campaign.segment,
        "segmentsnapshot": SegmentSnapshotFactory(segment=variant.campaign.segment, members=("1", "2")),
        "campaign": variant.campaign,
        "variant": variant,
        "outboxmessage": OutboxMessageFactory(campaign=variant.campaign, variant=variant),
        "abtest": ABTestFactory(campaign=variant.campaign),
        "journey": step.journey,
        "journeystep": step,
        "journeyenrollment": JourneyEnrollmentFactory(journey=step.journey),
        "suppression": SuppressionFactory(campaign=variant.campaign),
    }


def test_every_model_has_changelist_search_and_change_pages(admin_client, objects):
    for name, obj in objects.items():
        changelist = reverse(f"admin:marketing_{name}_changelist")
        assert admin_client.get(changelist).status_code == 200, name
        assert admin_client.get(changelist, {"q": "x"}).status_code == 200, name
        assert (
            admin_client.get(reverse(f"admin:marketing_{name}_change", args=[obj.pk])).status_code == 200
        ), name


def test_snapshot_admin_shows_members_and_who_entered_and_left(admin_client, objects):
    first = objects["segmentsnapshot"]
    page = admin_client.get(
        reverse("admin:marketing_segmentsnapshot_change", args=[first.pk])
    ).content.decode()
    assert "1, 2" in page and "first snapshot" in page
    later = SegmentSnapshotFactory(segment=first.segment, members=("2", "3"), taken_at=first.taken_at)
    page = admin_client.get(
        reverse("admin:marketing_segmentsnapshot_change", args=[later.pk])
    ).content.decode()
    assert "entered 1: 3 | left 1: 1" in page
    assert SegmentSnapshot.objects.count() == 2


def test_journey_steps_are_edited_inline(admin_client, objects):
    campaign, segment, variant = objects["campaign"], objects["segment"], objects["variant"]
    data = {
        "name": "New journey",
        "segment": segment.pk,
        "campaign": campaign.pk,
        "is_active": "on",
        "steps-TOTAL_FORMS": "2",
        "steps-INITIAL_FORMS": "0",
        "steps-MIN_NUM_FORMS": "0",
        "steps-MAX_NUM_FORMS": "1000",
        "steps-0-position": "0",
        "steps-0-kind": "send",
        "steps-0-wait_days": "0",
        "steps-0-variant": variant.pk,
        "steps-0-churn_bands": "[]",
        "steps-1-position": "1",
        "steps-1-kind": "wait",
        "steps-1-wait_days": "3",
        "steps-1-churn_bands": "[]",
    }
    response = admin_client.post(reverse("admin:marketing_journey_add"), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    journey = Journey.objects.get(name="New journey")
    assert list(JourneyStep.objects.filter(journey=journey).values_list("kind", "wait_days")) == [
        ("send", 0),
        ("wait", 3),
    ]


def test_the_inline_refuses_a_send_step_without_a_variant(admin_client, objects):
    data = {
        "name": "Broken journey",
        "segment": objects["segment"].pk,
        "campaign": objects["campaign"].pk,
        "steps-TOTAL_FORMS": "1",
        "steps-INITIAL_FORMS": "0",
        "steps-MIN_NUM_FORMS": "0",
        "steps-MAX_NUM_FORMS": "1000",
        "steps-0-position": "0",
        "steps-0-kind": "send",
        "steps-0-wait_days": "0",
        "steps-0-churn_bands": "[]",
    }
    response = admin_client.post(reverse("admin:marketing_journey_add"), data)
    assert response.status_code == 200
    assert "A send step needs a variant." in response.content.decode()
    assert not Journey.objects.filter(name="Broken journey").exists()


def test_a_suppression_added_by_hand_is_stored_lowercase(admin_client):
    from marketing.models import Suppression

    response = admin_client.post(
        reverse("admin:marketing_suppression_add"), {"email": " Someone@Example.ORG", "reason": "manual"}
    )
    assert response.status_code == 302, response.content
    assert Suppression.objects.get().email == "someone@example.org"
