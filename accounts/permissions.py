"""Who may do what (A2): role decorators for views.

An auditor reads and never writes: AgencyMiddleware refuses every POST from an
auditor except to views marked @self_service (their own sign-out, password, MFA,
agency switch) or @auditor_may_post (asking for an export of the record), so a new view
cannot forget it.
"""

import functools

from django.utils.translation import gettext as _

from accounts.models import Role
from smc.errors import PermissionDenied

ALL_ROLES = tuple(Role.values)


def role_required(*roles: str):
    def decorator(view):
        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            membership = getattr(request, "membership", None)
            if membership is None or membership.role not in roles:
                raise PermissionDenied(_("Your role does not allow this page."))
            return view(request, *args, **kwargs)

        wrapper.smc_roles = roles
        return wrapper

    return decorator


def self_service(view):
    """Mark a view that only changes the signed-in person's own session or login."""
    view.smc_self_service = True
    return view


def auditor_may_post(view):
    """Mark a view whose POST only makes the auditor a copy of the record (an export, R4).

    It changes no agency data and its making is itself recorded, so it is the one POST
    an auditor may send besides @self_service ones. A POST, not a GET: it starts work
    and must carry the CSRF token, so no other site can start exports in their name.
    """
    view.smc_auditor_may_post = True
    return view
