"""A2: a person in several agencies works in one at a time, chosen explicitly."""

from django.urls import reverse

from accounts.models import Role
from audit.actions import Action
from audit.models import AuditEvent
from smc.tenancy import agency_scope
from tests.factories import make_member


def test_switching_agency_changes_what_every_page_shows(client, agency, other_agency, password):
    pio = make_member(agency, role=Role.SUPERVISOR, username="pat", password=password)
    fire = make_member(other_agency, role=Role.ADMINISTRATOR, username="pat", password=password)
    client.post(reverse("account_login"), {"login": "pat", "password": password})
    assert 'data-testid="active-agency" title="The agency you are working in">Metro Police' in (
        client.get(reverse("home")).content.decode()
    )
    assert client.get(reverse("accounts:member_list")).status_code == 403  # supervisor here
    response = client.post(reverse("accounts:switch_agency"), {"membership": fire.pk}, follow=True)
    body = response.content.decode()
    assert "You are now working in Riverside Fire." in body
    assert 'title="The agency you are working in">Riverside Fire' in body
    assert client.get(reverse("accounts:member_list")).status_code == 200  # administrator there
    with agency_scope(other_agency):
        assert AuditEvent.objects.filter(action=Action.AGENCY_SWITCHED).count() == 1
    assert pio.pk != fire.pk


def test_switching_to_an_agency_one_is_not_in_is_refused(client, agency, other_agency, password):
    make_member(agency, username="pat", password=password)
    stranger = make_member(other_agency, username="someone-else")
    client.post(reverse("account_login"), {"login": "pat", "password": password})
    response = client.post(reverse("accounts:switch_agency"), {"membership": stranger.pk})
    assert response.status_code == 404
    assert "Metro Police" in client.get(reverse("home")).content.decode()
    assert AuditEvent.objects.filter(action=Action.ACCESS_DENIED).count() == 1
