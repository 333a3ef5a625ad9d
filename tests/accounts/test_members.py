"""A2: roles per membership, managed by administrators, every change recorded."""

from django.urls import reverse

from accounts.models import Membership, Role
from audit.actions import Action
from audit.models import AuditEvent
from tests.factories import make_member, make_unit


def test_an_administrator_changes_a_role_and_it_is_recorded(client, agency, admin):
    officer = make_member(agency, username="olive")
    client.force_login(admin.user)
    response = client.post(reverse("accounts:change_role", args=[officer.pk]),
                           {"role": Role.SUPERVISOR}, follow=True)  # fmt: skip
    assert "Olive’s role is changed." in response.content.decode()
    officer.refresh_from_db()
    assert officer.role == Role.SUPERVISOR
    event = AuditEvent.objects.get(action=Action.ROLE_CHANGED)
    assert event.details == {"before": "user", "after": "supervisor"}
    assert event.actor_label == "alex" and event.object_label.startswith("Olive")


def test_the_only_administrator_cannot_be_demoted(client, agency, admin):
    client.force_login(admin.user)
    response = client.post(reverse("accounts:change_role", args=[admin.pk]),
                           {"role": Role.USER}, follow=True)  # fmt: skip
    assert "is the agency’s only administrator" in response.content.decode()
    admin.refresh_from_db()
    assert admin.role == Role.ADMINISTRATOR


def test_a_unit_is_assigned(client, agency, admin):
    unit = make_unit(agency, name="Traffic")
    officer = make_member(agency, username="olive")
    client.force_login(admin.user)
    client.post(reverse("accounts:change_unit", args=[officer.pk]), {"unit": unit.pk})
    officer.refresh_from_db()
    assert officer.unit == unit
    assert AuditEvent.objects.get(action=Action.UNIT_CHANGED).details["after"] == "Traffic"


def test_a_member_is_removed_and_keeps_their_record(client, agency, admin):
    officer = make_member(agency, username="olive")
    client.force_login(admin.user)
    response = client.post(reverse("accounts:remove_member", args=[officer.pk]), follow=True)
    assert "is no longer a member" in response.content.decode()
    officer.refresh_from_db()
    assert not officer.is_active and officer.removed_at
    assert AuditEvent.objects.filter(action=Action.MEMBERSHIP_REMOVED).count() == 1


def test_users_and_supervisors_cannot_manage_people(client, agency, admin):
    for role in (Role.USER, Role.SUPERVISOR):
        member = make_member(agency, role=role)
        client.force_login(member.user)
        assert client.get(reverse("accounts:member_list")).status_code == 403
        response = client.post(reverse("accounts:change_role", args=[member.pk]),
                               {"role": Role.ADMINISTRATOR})  # fmt: skip
        assert response.status_code == 403
        assert "Your role does not allow this page." in response.content.decode()
        member.refresh_from_db()
        assert member.role == role
    assert AuditEvent.objects.filter(action=Action.ACCESS_DENIED).count() == 4


def test_units_nest(client, agency, admin):
    client.force_login(admin.user)
    client.post(reverse("accounts:unit_list"), {"name": "Patrol"})
    patrol = agency.unit_set.get(name="Patrol")
    client.post(reverse("accounts:unit_list"), {"name": "Night shift", "parent": patrol.pk})
    response = client.post(reverse("accounts:unit_list"), {"name": "patrol"}, follow=True)
    assert "A unit called “patrol” exists already." in response.content.decode()
    assert agency.unit_set.get(name="Night shift").parent == patrol


def test_the_member_list_shows_the_agency_people(client, agency, admin):
    make_member(agency, username="olive")
    client.force_login(admin.user)
    body = client.get(reverse("accounts:member_list")).content.decode()
    assert "olive" in body and "alex" in body
    assert Membership.objects.count() == 2


def test_a_garbage_unit_id_is_not_found_not_an_error(client, agency, admin):
    officer = make_member(agency, username="olive")
    client.force_login(admin.user)
    response = client.post(reverse("accounts:change_unit", args=[officer.pk]), {"unit": "1; --"})
    assert response.status_code == 404
    assert "That unit does not exist." in response.content.decode()
    officer.refresh_from_db()
    assert officer.unit is None
