"""A1: two-factor sign-in (TOTP, recovery codes) and an agency's policy requiring it."""

import time

from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, hotp_value
from django.urls import reverse

from accounts.models import Role
from audit.actions import Action
from audit.models import AuditEvent
from tests.factories import make_member

SECRET = "JBSWY3DPEHPK3PXP"


def code(offset=0):
    return format_hotp_value(hotp_value(SECRET, int(time.time()) // 30 + offset))


def test_a_required_role_reaches_nothing_but_mfa_set_up(client, agency, admin, password):
    agency.mfa_required_roles = [Role.USER]
    agency.save()
    make_member(agency, username="olive", password=password)
    client.post(reverse("account_login"), {"login": "olive", "password": password})
    for page in (reverse("home"), reverse("accounts:my_account"), reverse("audit:event_list")):
        response = client.get(page)
        assert response.status_code == 302, page
        assert response["Location"] == reverse("mfa_activate_totp")
    response = client.get(reverse("mfa_activate_totp"))
    assert response.status_code == 200
    assert "requires two-factor sign-in for your role" in response.content.decode()
    # Administrators are not in the policy: they are not held.
    client.force_login(admin.user)
    assert client.get(reverse("home")).status_code == 200


def test_once_enrolled_the_member_is_free(client, agency, admin):
    agency.mfa_required_roles = [Role.USER]
    agency.save()
    officer = make_member(agency, username="olive")
    TOTP.activate(officer.user, SECRET)
    client.force_login(officer.user)
    assert client.get(reverse("home")).status_code == 200


def test_sign_in_asks_for_the_code_and_refuses_a_reused_one(client, agency, password):
    officer = make_member(agency, username="olive", password=password)
    TOTP.activate(officer.user, SECRET)
    login = client.post(reverse("account_login"), {"login": "olive", "password": password})
    assert login["Location"] == reverse("mfa_authenticate")
    first = code()
    assert client.post(reverse("mfa_authenticate"), {"code": first}).status_code == 302
    client.post(reverse("account_logout"))
    client.post(reverse("account_login"), {"login": "olive", "password": password})
    reused = client.post(reverse("mfa_authenticate"), {"code": first})
    assert "Incorrect code." in reused.content.decode()
    assert "_auth_user_id" not in client.session
    actions = list(AuditEvent.objects.order_by("seq").values_list("action", flat=True))
    assert actions.count(Action.MFA_CODE_ACCEPTED) == 1
    assert actions.count(Action.MFA_CODE_REJECTED) == 1


def test_the_policy_is_set_by_an_administrator_and_recorded(client, agency, admin):
    client.force_login(admin.user)
    client.post(reverse("accounts:security_settings"), {"roles": [Role.SUPERVISOR, Role.USER]})
    agency.refresh_from_db()
    assert agency.mfa_required_roles == [Role.SUPERVISOR, Role.USER]
    event = AuditEvent.objects.get(action=Action.MFA_POLICY_CHANGED)
    assert event.details == {"before": [], "after": ["supervisor", "user"]}


def test_a_recovery_code_signs_in_once(client, agency, password):
    from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes

    officer = make_member(agency, username="olive", password=password)
    TOTP.activate(officer.user, SECRET)
    [spare, *_] = RecoveryCodes.activate(officer.user).get_unused_codes()
    client.post(reverse("account_login"), {"login": "olive", "password": password})
    assert client.post(reverse("mfa_authenticate"), {"code": spare}).status_code == 302
    assert client.get(reverse("home")).status_code == 200
    client.post(reverse("account_logout"))
    client.post(reverse("account_login"), {"login": "olive", "password": password})
    again = client.post(reverse("mfa_authenticate"), {"code": spare})
    assert "Incorrect code." in again.content.decode()
    assert "_auth_user_id" not in client.session


def test_the_code_that_enrolled_the_app_cannot_sign_in_again(client, agency, password):
    officer = make_member(agency, username="olive", password=password)
    client.post(reverse("account_login"), {"login": "olive", "password": password})
    page = client.get(reverse("mfa_activate_totp"))
    secret = page.context["form"].secret
    enrol = format_hotp_value(hotp_value(secret, int(time.time()) // 30))
    assert client.post(reverse("mfa_activate_totp"), {"code": enrol}).status_code == 302
    client.post(reverse("account_logout"))
    client.post(reverse("account_login"), {"login": "olive", "password": password})
    replay = client.post(reverse("mfa_authenticate"), {"code": enrol})
    assert "Incorrect code." in replay.content.decode()
    assert "_auth_user_id" not in client.session
    assert officer.user.authenticator_set.filter(type="totp").exists()


def test_the_sign_in_page_does_not_offer_sign_up(client, db):
    body = client.get(reverse("account_login")).content.decode()
    assert "sign up" not in body.lower()
    assert "Accounts are by invitation" in body
