"""Authority (A3–A5) administered in the UI: supervisors, flags, training, the escalation
time, publish rights and their daily expiry; every change on the record."""

from datetime import timedelta

import pytest
from django.core import mail
from django.test import TestCase
from django.urls import reverse
from django.utils import timezone

from accounts import authority
from accounts.models import Notification, Supervision, TrainingRecord
from accounts.notifications import notify, unread_count
from accounts.services import AccountsError
from audit.actions import Action
from audit.models import AuditEvent
from platforms.services import (
    PUBLISH_TO,
    set_channel_people,
    set_channel_publishers,
    withdraw_lapsed_publish_rights,
)
from tests.factories import make_channel, make_member, make_unit


def test_the_administrator_names_a_units_supervisors(client, admin, agency):
    unit = make_unit(agency, name="Traffic")
    sergeant = make_member(agency, role="supervisor", username="sergeant")
    officer = make_member(agency, username="officer")
    client.force_login(admin.user)
    page = client.get(reverse("accounts:unit_detail", args=[unit.pk])).content.decode()
    assert "Sergeant" in page and "Officer" not in page  # only those who may approve
    response = client.post(reverse("accounts:set_supervisors", args=[unit.pk]),
                           {"supervisors": [sergeant.pk]})  # fmt: skip
    assert response.status_code == 302
    assert list(Supervision.objects.values_list("membership", flat=True)) == [sergeant.pk]
    [event] = AuditEvent.objects.filter(action=Action.SUPERVISORS_CHANGED)
    assert event.details == {"before": [], "after": ["sergeant"]}
    # An officer cannot supervise: a clear message, nothing changed.
    response = client.post(reverse("accounts:set_supervisors", args=[unit.pk]),
                           {"supervisors": [officer.pk]}, follow=True)  # fmt: skip
    assert "only supervisors and administrators approve posts" in response.content.decode()
    assert list(Supervision.objects.values_list("membership", flat=True)) == [sergeant.pk]


def test_training_and_the_needs_approval_flag_from_the_member_page(client, admin, agency):
    officer = make_member(agency, username="officer")
    client.force_login(admin.user)
    url = reverse("accounts:record_training", args=[officer.pk])
    today = timezone.localdate()
    bad = client.post(url, {"course": "Social media", "completed_on": today.isoformat(),
                            "expires_on": (today - timedelta(days=1)).isoformat()},
                      follow=True)  # fmt: skip
    assert "must expire after" in bad.content.decode()
    assert not TrainingRecord.objects.exists()
    client.post(url, {"course": "Social media", "completed_on": today.isoformat(),
                      "expires_on": (today + timedelta(days=365)).isoformat()})  # fmt: skip
    assert authority.current_training(officer).course == "Social media"
    client.post(reverse("accounts:set_member_approval", args=[officer.pk]),
                {"needs_approval": "on"})  # fmt: skip
    officer.refresh_from_db()
    assert officer.needs_approval
    page = client.get(reverse("accounts:member_detail", args=[officer.pk])).content.decode()
    assert "In date: Social media" in page
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {Action.TRAINING_RECORDED, Action.MEMBER_APPROVAL_CHANGED} <= actions


def test_the_escalation_time_is_the_administrators_to_set(client, admin, agency):
    client.force_login(admin.user)
    response = client.post(reverse("accounts:set_escalation"), {"minutes": "0"}, follow=True)
    assert "Choose between 1 minute and 7 days" in response.content.decode()
    client.post(reverse("accounts:set_escalation"), {"minutes": "15"})
    agency.refresh_from_db()
    assert agency.approval_escalation_minutes == 15
    [event] = AuditEvent.objects.filter(action=Action.ESCALATION_TIME_CHANGED)
    assert event.details == {"before": 60, "after": 15}
    with pytest.raises(AccountsError):
        authority.set_escalation_time(administrator=admin, minutes=100_000)


def test_publish_rights_are_managed_on_the_channel_page(client, admin, agency):
    officer = make_member(agency, username="officer")
    channel = make_channel(agency, administrator=admin, name="Metro on X")
    set_channel_people(administrator=admin, channel=channel, memberships=[officer])
    client.force_login(admin.user)
    url = reverse("platforms:set_publishers", args=[channel.pk])
    response = client.post(url, {"publishers": [officer.pk]}, follow=True)
    assert "no training in date" in response.content.decode()
    assert not officer.user.has_perm(PUBLISH_TO, channel)
    today = timezone.localdate()
    authority.record_training(administrator=admin, membership=officer, course="SM101",
                              completed_on=today, expires_on=today + timedelta(days=5))  # fmt: skip
    client.post(url, {"publishers": [officer.pk]})
    assert officer.user.has_perm(PUBLISH_TO, channel)
    client.post(reverse("platforms:set_channel_approval", args=[channel.pk]),
                {"needs_approval": "on"})  # fmt: skip
    channel.refresh_from_db()
    assert channel.needs_approval
    # No longer a user of the channel: no longer a publisher either.
    set_channel_people(administrator=admin, channel=channel, memberships=[])
    officer.user = type(officer.user).objects.get(pk=officer.user_id)  # fresh permission cache
    assert not officer.user.has_perm(PUBLISH_TO, channel)


def test_the_daily_sweep_removes_rights_when_training_expires(admin, agency):
    today = timezone.localdate()
    lapsing = make_member(agency, username="lapsing")
    current = make_member(agency, username="current")
    channel = make_channel(agency, administrator=admin)
    set_channel_people(administrator=admin, channel=channel, memberships=[lapsing, current])
    for member in (lapsing, current):
        authority.record_training(administrator=admin, membership=member, course="SM101",
                                  completed_on=today - timedelta(days=400),
                                  expires_on=today + timedelta(days=1))  # fmt: skip
    set_channel_publishers(administrator=admin, channel=channel, memberships=[lapsing, current])
    assert withdraw_lapsed_publish_rights(agency=agency) == 0
    TrainingRecord.objects.filter(membership=lapsing).update(expires_on=today - timedelta(days=1))
    from platforms.tasks import withdraw_lapsed_publish_rights as task

    assert task.apply(kwargs={"agency_id": agency.pk}).get() == 1
    user_model = type(admin.user)
    assert not user_model.objects.get(pk=lapsing.user_id).has_perm(PUBLISH_TO, channel)
    assert user_model.objects.get(pk=current.user_id).has_perm(PUBLISH_TO, channel)
    [event] = AuditEvent.objects.filter(action=Action.PUBLISH_RIGHTS_LAPSED)
    assert event.details == {"member": "lapsing"} and event.actor_label == "training sweep"
    assert withdraw_lapsed_publish_rights(agency=agency) == 0  # nothing left to remove


def test_notifications_show_unread_in_the_nav_and_open_where_they_point(client, agency):
    member = make_member(agency, username="officer")
    with TestCase.captureOnCommitCallbacks(execute=True):
        notify(member=member, title="Your post was approved", body="By sergeant.",
               url="/accounts/me/")  # fmt: skip
        notify(member=member, title="<b>Second</b>", url="")
    assert [m.subject for m in mail.outbox] == ["[SMC] Your post was approved",
                                                "[SMC] <b>Second</b>"]  # fmt: skip
    with pytest.raises(ValueError):
        notify(member=member, title="Elsewhere", url="https://evil.example/")
    client.force_login(member.user)
    home = client.get(reverse("home")).content.decode()
    assert 'class="badge"' in home and ">2</span>" in home
    page = client.get(reverse("accounts:notification_list")).content.decode()
    assert "&lt;b&gt;Second&lt;/b&gt;" in page and "<b>Second</b>" not in page
    first = Notification.objects.get(title="Your post was approved")
    response = client.post(reverse("accounts:open_notification", args=[first.pk]))
    assert response["Location"] == "/accounts/me/"
    assert unread_count(member) == 1
    client.post(reverse("accounts:read_all_notifications"))
    assert unread_count(member) == 0
    # Someone else's notice is not found.
    other = make_member(agency, username="other")
    theirs = notify(member=other, title="Theirs")
    response = client.post(reverse("accounts:open_notification", args=[theirs.pk]))
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None
