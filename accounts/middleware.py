"""Per-request identity: session limits, the active agency and its scope, MFA enrolment."""

import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.shortcuts import redirect
from django.utils.translation import gettext as _

from accounts.models import Role
from accounts.selectors import memberships_of
from accounts.sessions import LOGIN_AT_KEY, MEMBERSHIP_KEY
from audit.actions import Action, Outcome
from audit.services import record_event
from smc.errors import NotFound, PermissionDenied
from smc.tenancy import agency_scope

# allauth's own pages change only the signed-in person's login (sign-up is closed).
SELF_SERVICE_URL_PREFIXES = ("account_", "mfa_")


def _end_session(request, message: str):
    logout(request)
    messages.info(request, message)
    return redirect(settings.LOGIN_URL)


class SessionPolicyMiddleware:
    """A1: a session ends a fixed time after sign-in, however active (the idle limit is
    the cookie's age, renewed on every request)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.user.is_authenticated:
            started = request.session.get(LOGIN_AT_KEY)
            if started is None or time.time() - started > settings.SMC_SESSION_MAX_AGE:
                session_membership = request.session.get(MEMBERSHIP_KEY)
                for membership in memberships_of(request.user):
                    if membership.pk == session_membership:
                        record_event(actor=membership, action=Action.SESSION_EXPIRED)
                return _end_session(
                    request, _("Your session has ended for security. Please sign in again.")
                )
        return self.get_response(request)


class AgencyMiddleware:
    """Opens the scope of the signed-in member's active agency around the request.

    Sets request.membership, request.agency and request.memberships (for the switcher).
    A session whose membership was removed ends here, at its next request.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.membership = request.agency = None
        request.memberships = []
        if not request.user.is_authenticated:
            return self.get_response(request)
        memberships = memberships_of(request.user)
        wanted = request.session.get(MEMBERSHIP_KEY)
        membership = next((m for m in memberships if m.pk == wanted), None)
        if membership is None:
            if wanted is not None:
                return _end_session(
                    request,
                    _("Your membership has changed, so you have been signed out. "
                      "Sign in again to continue."),
                )  # fmt: skip
            if not memberships:
                return _end_session(
                    request,
                    _("You are not a member of any agency on SMC. Ask an administrator."),
                )
            membership = memberships[0]
            request.session[MEMBERSHIP_KEY] = membership.pk
        request.membership, request.agency = membership, membership.agency
        request.memberships = memberships
        with agency_scope(membership.agency_id):
            return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        membership = request.membership
        if (
            membership is not None
            and membership.role == Role.AUDITOR
            and request.method not in ("GET", "HEAD", "OPTIONS")
            and not _is_self_service(request, view_func)
            and not getattr(view_func, "smc_record_keeping", False)
        ):
            denial = PermissionDenied(_("Auditors can read the record but not change anything."))
            _record_denial(request, denial)
            raise denial
        return None

    def process_exception(self, request, exception):
        # Django renders these as the 404 and 403 pages; we record them first. A plain
        # Http404 from the URL resolver (no such page) is not an access attempt.
        if isinstance(exception, NotFound | DjangoPermissionDenied):
            _record_denial(request, exception)
        return None


def _record_denial(request, exception) -> None:
    if request.membership is None:
        return
    record_event(
        actor=request.membership,
        action=Action.ACCESS_DENIED,
        outcome=Outcome.DENIED,
        reason=getattr(exception, "message", "") or str(exception),
        details={"method": request.method, "path": request.path[:300]},
    )


def _is_self_service(request, view_func) -> bool:
    if getattr(view_func, "smc_self_service", False):
        return True
    url_name = request.resolver_match.url_name if request.resolver_match else ""
    return (url_name or "").startswith(SELF_SERVICE_URL_PREFIXES)


# Pages a member who must enrol MFA may still reach.
MFA_SETUP_URL_NAMES = {
    "mfa_index",
    "mfa_activate_totp",
    "mfa_view_recovery_codes",
    "mfa_generate_recovery_codes",
    "mfa_download_recovery_codes",
    "mfa_reauthenticate",
    "account_reauthenticate",
    "account_logout",
}


class MfaEnrolmentMiddleware:
    """A1: where the agency requires MFA for a member's role, the member reaches nothing
    but MFA set-up (and sign-out) until they have enrolled an authenticator app."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        from allauth.mfa.models import Authenticator
        from allauth.mfa.utils import is_mfa_enabled

        membership = request.membership
        if membership is None or membership.role not in membership.agency.mfa_required_roles:
            return None
        url_name = request.resolver_match.url_name if request.resolver_match else ""
        if url_name in MFA_SETUP_URL_NAMES:
            return None
        if is_mfa_enabled(request.user, [Authenticator.Type.TOTP]):
            return None
        messages.warning(
            request,
            _("%(agency)s requires two-factor sign-in for your role. Set up an authenticator "
              "app to continue.") % {"agency": membership.agency.name},
        )  # fmt: skip
        return redirect("mfa_activate_totp")
