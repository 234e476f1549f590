import pytest
from django.contrib import admin

from support import models
from support.services import tickets
from support.tests.factories import AgentFactory, CalendarFactory, MacroFactory, PolicyFactory, TeamFactory

pytestmark = pytest.mark.django_db


def test_every_model_has_a_working_admin(admin_client):
    team = TeamFactory()
    AgentFactory(teams=[team])
    MacroFactory()
    PolicyFactory(calendar=CalendarFactory())
    tickets.ticket_create(subject="Admin check", body="body", team=team)
    for model in models.__all__:
        cls = getattr(models, model)
        assert admin.site.is_registered(cls), model
        name = cls._meta.model_name
        assert admin_client.get(f"/admin/support/{name}/?q=a").status_code == 200, name
        obj = cls.objects.first()
        if obj is not None:
            assert admin_client.get(f"/admin/support/{name}/{obj.pk}/change/").status_code == 200, name
