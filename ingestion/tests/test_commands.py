"""generate_shop refuses bad arguments with a CommandError before generating anything."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from ingestion.models import Customer, Event, Interaction, Order

pytestmark = pytest.mark.django_db


def _stored():
    return (
        Customer.objects.count(),
        Order.objects.count(),
        Interaction.objects.count(),
        Event.objects.count(),
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--seed", "-1"], "--seed must be between 0 and 4294967295"),
        (["--seed", str(2**32)], "--seed must be between 0 and 4294967295"),
        (["--source", ""], "--source: source must be a non-empty string"),
        (["--source", "   "], "--source: source must be a non-empty string"),
        (["--source", "s" * 65], "--source: source must be a non-empty string of at most 64"),
        (["--customers", "0"], "--customers must be at least 1"),
        (["--customers", "-3"], "--customers must be at least 1"),
    ],
)
def test_generate_shop_refuses_bad_arguments(args, message):
    arguments = ["--customers", "5", *args] if "--customers" not in args else args
    with pytest.raises(CommandError, match=message):
        call_command("generate_shop", *arguments, stdout=StringIO(), verbosity=0)
    assert _stored() == (0, 0, 0, 0)


def test_generate_shop_stores_under_the_cleaned_source():
    call_command("generate_shop", "--customers", "3", "--source", " gen ", stdout=StringIO(), verbosity=0)
    assert set(Order.objects.values_list("source", flat=True)) == {"gen"}
