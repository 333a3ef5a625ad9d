from allauth.account.adapter import DefaultAccountAdapter
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
