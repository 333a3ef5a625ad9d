import time

from allauth.account import app_settings as allauth_settings
from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.internal.flows.login import get_authentication_records
from allauth.core import context
from django.core.exceptions import ValidationError

from audit.actions import Action


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request):
        # A1: accounts are invite-only (accounts.views.accept_invitation).
        return False

    def pre_authenticate(self, request, **credentials):
        try:
            super().pre_authenticate(request, **credentials)
        except ValidationError:
            from accounts.signals import record_login_refusal

            record_login_refusal(credentials.get("username", ""), Action.LOGIN_LOCKED,
                                 "too many failed sign-ins: locked for a while")  # fmt: skip
            raise

    def is_reauthentication_required(self, *, app: str, **kwargs) -> bool:
        """A sign-in within the reauthentication window counts as recent.

        allauth asks for the password again before MFA changes even right after
        sign-in; an officer told to set up an authenticator at first sign-in would type
        it twice in a row. A sign-in older than the window still needs it.
        """
        if not super().is_reauthentication_required(app=app, **kwargs):
            return False
        request = context.request
        records = get_authentication_records(request, request.user) if request else []
        recent = [r for r in records if r.get("method") in ("password", "mfa")]
        window = allauth_settings.REAUTHENTICATION_TIMEOUT
        return not (recent and time.time() - recent[-1]["at"] < window)
