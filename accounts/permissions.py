"""Who may do what (A2): role decorators for views.

An auditor reads and never writes: AgencyMiddleware refuses every POST from an
auditor except to views marked @self_service (their own sign-out, password, MFA,
agency switch) or @record_keeping, so a new view cannot forget it.
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


def record_keeping(view):
    """Mark a view by which an auditor keeps the record without changing anything it
    holds: a legal hold (which only stops a purge), a records request. What the view
    does is itself recorded; the record's content and the agency's work stay as they are."""
    view.smc_record_keeping = True
    return view
