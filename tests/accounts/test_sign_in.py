"""A1: sign-in, throttling and lockout, sessions, and their record."""

import time

import pytest
from django.conf import settings
from django.urls import reverse

from accounts.services import remove_membership
from accounts.sessions import LOGIN_AT_KEY
from audit.actions import Action
from audit.models import AuditEvent
from smc.tenancy import agency_scope, every_agency
from tests.factories import make_member


def sign_in(client, username, password):
    return client.post(reverse("account_login"), {"login": username, "password": password})


def events(agency, action):
    with agency_scope(agency):
        return list(AuditEvent.objects.filter(action=action).order_by("seq"))


def test_sign_in_opens_the_agency_and_records_it(client, agency, admin, password):
    response = sign_in(client, "alex", password)
    assert response.status_code == 302
    home = client.get(reverse("home"))
    body = home.content.decode()
    assert "Metro Police" in body and 'data-testid="active-agency"' in body
    [event] = events(agency, Action.LOGIN_SUCCEEDED)
    assert event.actor_label == "alex" and event.actor_role == "administrator"
    assert event.ip == "127.0.0.1"


def test_a_wrong_password_gets_a_clear_message_and_is_recorded(client, agency, admin):
    response = sign_in(client, "alex", "not-the-password")
    assert response.status_code == 200
    assert (
        "The username and/or password you specified are not correct." in response.content.decode()
    )
    assert "_auth_user_id" not in client.session
    [event] = events(agency, Action.LOGIN_FAILED)
    assert event.outcome == "denied" and event.actor_label == "alex"


def test_an_unknown_username_is_recorded_on_the_installation_chain(client, db):
    sign_in(client, "nobody-here", "whatever")
    with every_agency():
        event = AuditEvent.objects.get(action=Action.LOGIN_FAILED)
    assert event.agency_id is None and event.actor_label == "nobody-here"


def test_repeated_failures_lock_the_username(client, agency, admin, password):
    for _ in range(settings.SMC_LOGIN_LOCKOUT_FAILURES):
        sign_in(client, "alex", "wrong")
    # Now even the right password is refused, with a message that says why.
    response = sign_in(client, "alex", password)
    assert "Too many failed login attempts. Try again later." in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert len(events(agency, Action.LOGIN_LOCKED)) == 1


def test_the_session_key_rotates_at_sign_in(client, agency, admin, password):
    client.get(reverse("account_login"))
    client.session.save()
    before = client.session.session_key
    sign_in(client, "alex", password)
    assert client.session.session_key != before


def test_sessions_expire_when_idle(client, agency, admin, password):
    from datetime import timedelta

    from django.contrib.sessions.models import Session
    from django.utils import timezone

    sign_in(client, "alex", password)
    client.get(reverse("home"))
    session = Session.objects.get(session_key=client.session.session_key)
    # Every request pushes the end of the session SESSION_COOKIE_AGE into the future.
    left = session.expire_date - timezone.now()
    assert timedelta(minutes=29) < left <= timedelta(minutes=30)
    Session.objects.filter(pk=session.pk).update(expire_date=timezone.now() - timedelta(seconds=1))
    response = client.get(reverse("home"))
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_sessions_end_after_the_absolute_limit(client, agency, admin, password):
    sign_in(client, "alex", password)
    session = client.session
    session[LOGIN_AT_KEY] = time.time() - settings.SMC_SESSION_MAX_AGE - 1
    session.save()
    response = client.get(reverse("home"), follow=True)
    assert response.redirect_chain[-1][0].startswith(reverse("account_login"))
    assert "Your session has ended for security." in response.content.decode()
    assert len(events(agency, Action.SESSION_EXPIRED)) == 1


def test_removing_a_membership_ends_the_session(client, agency, admin, password):
    officer = make_member(agency, username="olive", password=password)
    sign_in(client, "olive", password)
    assert client.get(reverse("home")).status_code == 200
    remove_membership(administrator=admin, membership=officer)
    response = client.get(reverse("home"), follow=True)
    assert "Your membership has changed, so you have been signed out." in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_a_password_change_ends_the_other_sessions(client, agency, admin, password):
    from django.test import Client

    laptop, phone = client, Client()
    sign_in(laptop, "alex", password)
    sign_in(phone, "alex", password)
    response = phone.post(
        reverse("account_change_password"),
        {
            "oldpassword": password,
            "password1": "A-New-Long-Pass-77",
            "password2": "A-New-Long-Pass-77",
        },
    )
    assert response.status_code == 302
    # The laptop's session is gone at its next request.
    assert laptop.get(reverse("home")).status_code == 302
    assert "_auth_user_id" not in laptop.session
    assert len(events(agency, Action.PASSWORD_CHANGED)) == 1


def test_sign_up_is_closed(client, db):
    response = client.get(reverse("account_signup"))
    assert "Sign Up Closed" in response.content.decode()


@pytest.mark.parametrize("path", ["/", "/accounts/members/", "/record/"])
def test_pages_need_a_sign_in(client, db, path):
    response = client.get(path)
    assert response.status_code == 302 and response["Location"].startswith("/login/")
