"""Sign-in, sign-out and MFA events, from Django's and allauth's signals, to the record."""

import time

from allauth.account.signals import password_changed
from allauth.mfa import signals as mfa_signals
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from accounts.selectors import default_membership, memberships_of
from accounts.sessions import LOGIN_AT_KEY, MEMBERSHIP_KEY
from audit.actions import Action, Outcome
from audit.actors import system_actor
from audit.services import record_event


def _session_membership(request, user):
    wanted = request.session.get(MEMBERSHIP_KEY) if request is not None else None
    memberships = memberships_of(user)
    return next((m for m in memberships if m.pk == wanted), None) or (
        memberships[0] if memberships else None
    )


@receiver(user_logged_in, dispatch_uid="smc-login")
def on_login(sender, request, user, **kwargs):
    # Django's login() has already rotated the session key (no session fixation).
    membership = default_membership(user)
    request.session[LOGIN_AT_KEY] = time.time()
    if membership is None:
        record_event(
            actor=system_actor(agency_id=None, agency_label=""),
            action=Action.LOGIN_SUCCEEDED,
            outcome=Outcome.DENIED,
            reason="no active membership",
            details={"username": user.username},
        )
        return
    request.session[MEMBERSHIP_KEY] = membership.pk
    record_event(actor=membership, action=Action.LOGIN_SUCCEEDED)


@receiver(user_logged_out, dispatch_uid="smc-logout")
def on_logout(sender, request, user, **kwargs):
    if user is None:
        return
    membership = getattr(request, "membership", None) or _session_membership(request, user)
    if membership is not None:
        record_event(actor=membership, action=Action.LOGGED_OUT)


@receiver(user_login_failed, dispatch_uid="smc-login-failed")
def on_login_failed(sender, credentials, request=None, **kwargs):
    record_login_refusal(credentials.get("username", ""), Action.LOGIN_FAILED,
                         "wrong username or password")  # fmt: skip


def record_login_refusal(username: str, action: str, reason: str) -> None:
    """A refused sign-in goes to each agency of the person named, or, for a username
    nobody has, to the installation's own chain."""
    user = get_user_model().objects.filter(username__iexact=username).first() if username else None
    memberships = memberships_of(user) if user else []
    for membership in memberships:
        actor = system_actor(
            agency_id=membership.agency_id, agency_label=membership.agency.name, label=username
        )
        record_event(actor=actor, action=action, outcome=Outcome.DENIED, reason=reason,
                     subject=membership)  # fmt: skip
    if not memberships:
        record_event(actor=system_actor(agency_id=None, agency_label="", label=username[:150]),
                     action=action, outcome=Outcome.DENIED, reason=reason)  # fmt: skip


def _record_for_user(request, user, action, **extra):
    membership = _session_membership(request, user)
    if membership is not None:
        record_event(actor=membership, action=action, **extra)


@receiver(mfa_signals.authenticator_added, dispatch_uid="smc-mfa-added")
def on_authenticator_added(sender, request, user, authenticator, **kwargs):
    action = (
        Action.MFA_TOTP_ADDED if authenticator.type == "totp"
        else Action.MFA_RECOVERY_CODES_GENERATED
    )  # fmt: skip
    _record_for_user(request, user, action)


@receiver(mfa_signals.authenticator_removed, dispatch_uid="smc-mfa-removed")
def on_authenticator_removed(sender, request, user, authenticator, **kwargs):
    if authenticator.type == "totp":
        _record_for_user(request, user, Action.MFA_TOTP_REMOVED)


@receiver(mfa_signals.authenticator_reset, dispatch_uid="smc-mfa-reset")
def on_authenticator_reset(sender, request, user, authenticator, **kwargs):
    _record_for_user(request, user, Action.MFA_RECOVERY_CODES_GENERATED)


@receiver(mfa_signals.authenticator_used, dispatch_uid="smc-mfa-used")
def on_authenticator_used(sender, request, user, authenticator, **kwargs):
    _record_for_user(request, user, Action.MFA_CODE_ACCEPTED,
                     details={"kind": authenticator.type})  # fmt: skip


@receiver(mfa_signals.authentication_failed, dispatch_uid="smc-mfa-failed")
def on_mfa_failed(sender, request, user, authenticator, **kwargs):
    # A reused code fails here too: allauth refuses a TOTP code seen in the last period.
    _record_for_user(request, user, Action.MFA_CODE_REJECTED, outcome=Outcome.DENIED,
                     reason="wrong, expired or reused code")  # fmt: skip


@receiver(password_changed, dispatch_uid="smc-password-changed")
def on_password_changed(sender, request, user, **kwargs):
    # The session auth hash changes with the password, so every other session of this
    # person ends at its next request (Django's SessionAuthenticationMiddleware rule).
    _record_for_user(request, user, Action.PASSWORD_CHANGED)
