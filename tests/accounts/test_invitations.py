"""A1: accounts are invite-only; an invitation works once, before it expires."""

import re
from datetime import timedelta

from django.core import mail
from django.urls import reverse
from django.utils import timezone

from accounts.models import Invitation, Membership
from audit.actions import Action
from audit.models import AuditEvent
from smc.tenancy import agency_scope


def invite(client, admin, password, email="new.officer@metro.example", role="user"):
    from django.test import TestCase

    client.force_login(admin.user)
    # The email goes out when the invitation commits.
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = client.post(reverse("accounts:invitation_list"), {"email": email, "role": role})
    assert response.status_code == 302, response.content.decode()
    [message] = [m for m in mail.outbox if email in m.to]
    return re.search(r"http://\S+/accounts/join/(\S+)/", message.body).group(1)


def accept(client, token, username="newbie", password="Brand-New-Pass-42"):
    return client.post(
        reverse("accounts:accept_invitation", args=[token]),
        {"username": username, "full_name": "New Officer", "password1": password,
         "password2": password},
    )  # fmt: skip


def test_an_administrator_invites_and_the_invitee_joins(client, agency, admin, password):
    token = invite(client, admin, password)
    client.logout()
    page = client.get(reverse("accounts:accept_invitation", args=[token]))
    assert "Join Metro Police" in page.content.decode()
    response = accept(client, token)
    assert response.status_code == 302 and response["Location"] == reverse("account_login")
    credentials = {"login": "newbie", "password": "Brand-New-Pass-42"}
    signed_in = client.post(reverse("account_login"), credentials)
    assert signed_in.status_code == 302
    member = Membership.objects.get(user__username="newbie")
    assert member.role == "user" and member.agency == agency
    actions = list(AuditEvent.objects.order_by("seq").values_list("action", flat=True))
    assert Action.INVITATION_SENT in actions and Action.INVITATION_ACCEPTED in actions


def test_a_used_invitation_is_refused_with_a_clear_message(client, agency, admin, password):
    token = invite(client, admin, password)
    client.logout()
    accept(client, token)
    response = accept(client, token, username="second-try")
    assert response.status_code == 410
    assert "This invitation has been used already." in response.content.decode()
    assert not Membership.objects.filter(user__username="second-try").exists()
    assert AuditEvent.objects.filter(action=Action.INVITATION_REFUSED).count() == 1


def test_an_expired_invitation_is_refused(client, agency, admin, password):
    token = invite(client, admin, password)
    Invitation.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    client.logout()
    response = accept(client, token)
    assert response.status_code == 410
    assert "This invitation has expired. Ask your administrator for a new one." in (
        response.content.decode()
    )
    assert not Membership.objects.filter(user__username="newbie").exists()
    assert AuditEvent.objects.filter(action=Action.INVITATION_REFUSED).count() == 1


def test_a_withdrawn_invitation_is_refused(client, agency, admin, password):
    token = invite(client, admin, password)
    invitation = Invitation.objects.get()
    client.post(reverse("accounts:withdraw_invitation", args=[invitation.pk]))
    client.logout()
    response = accept(client, token)
    assert "This invitation was withdrawn." in response.content.decode()


def test_a_wrong_link_is_not_found(client, db):
    response = client.get(reverse("accounts:accept_invitation", args=["no-such-token"]))
    assert response.status_code == 404
    assert "This invitation link is not valid." in response.content.decode()


def test_a_weak_password_is_refused_and_nothing_is_made(client, agency, admin, password):
    token = invite(client, admin, password)
    client.logout()
    response = accept(client, token, password="123")
    body = response.content.decode()
    assert response.status_code == 200
    assert "This password is too short." in body
    assert 'value="newbie"' in body  # what was typed is kept
    assert not Membership.objects.filter(user__username="newbie").exists()
    assert Invitation.objects.get().accepted_at is None


def test_a_signed_in_person_joins_with_their_own_login(client, agency, admin, password,
                                                       other_agency):  # fmt: skip
    from tests.factories import make_member

    with agency_scope(other_agency):
        someone = make_member(other_agency, username="ff", password=password)
    token = invite(client, admin, password, email="ff@example.org")
    client.force_login(someone.user)
    response = client.post(reverse("accounts:accept_invitation", args=[token]))
    assert response.status_code == 302
    page = client.get(reverse("home")).content.decode()
    assert "You have joined Metro Police." in page
    assert "Metro Police" in page and "Riverside Fire" in page  # both in the switcher


def test_inviting_an_existing_member_is_refused(client, agency, admin, password):
    client.force_login(admin.user)
    response = client.post(
        reverse("accounts:invitation_list"), {"email": admin.user.email, "role": "user"},
        follow=True,
    )  # fmt: skip
    assert f"{admin.user.email} is already a member of this agency." in response.content.decode()
    assert not Invitation.objects.exists()
