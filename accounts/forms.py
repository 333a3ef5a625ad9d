from allauth.mfa.models import Authenticator
from allauth.mfa.totp.forms import ActivateTOTPForm as AllauthActivateTOTPForm
from allauth.mfa.totp.internal.auth import TOTP
from django import forms
from django.contrib.auth.password_validation import password_validators_help_text_html
from django.utils.translation import gettext_lazy as _

from accounts.models import Role


class InvitationForm(forms.Form):
    email = forms.EmailField(label=_("Email address"))
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices, initial=Role.USER)
    unit = forms.ChoiceField(label=_("Unit"), required=False)

    def __init__(self, *args, units=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].choices = [("", _("No unit"))] + [(u.pk, u.name) for u in units]


class AcceptInvitationForm(forms.Form):
    full_name = forms.CharField(label=_("Your name"), max_length=150, required=False)
    username = forms.RegexField(
        label=_("Username"),
        max_length=150,
        regex=r"^[\w.@+-]+\Z",
        error_messages={"invalid": _("Use letters, digits and . @ + - _ only.")},
    )
    password1 = forms.CharField(
        label=_("Password"),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validators_help_text_html(),
    )
    password2 = forms.CharField(
        label=_("Password again"),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("password1") and cleaned.get("password1") != cleaned.get("password2"):
            self.add_error("password2", _("The two passwords differ."))
        return cleaned


class RoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)


class UnitChoiceForm(forms.Form):
    unit = forms.ChoiceField(label=_("Unit"), required=False)

    def __init__(self, *args, units=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].choices = [("", _("No unit"))] + [(u.pk, u.name) for u in units]


class UnitForm(forms.Form):
    name = forms.CharField(label=_("Unit name"), max_length=150)
    parent = forms.ChoiceField(label=_("Part of"), required=False)

    def __init__(self, *args, units=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["parent"].choices = [("", _("Top level"))] + [(u.pk, u.name) for u in units]


class MfaPolicyForm(forms.Form):
    roles = forms.MultipleChoiceField(
        label=_("Require two-factor sign-in for"),
        choices=Role.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )


class SwitchAgencyForm(forms.Form):
    membership = forms.IntegerField(widget=forms.HiddenInput)


class ActivateTOTPForm(AllauthActivateTOTPForm):
    """allauth's TOTP set-up form, burning the code it accepts.

    allauth checks the set-up code but does not mark it used, so the same code would
    sign in again within its 30 s window; a one-time code must work once (RFC 6238 §5.2).
    Wired in by settings.MFA_FORMS.
    """

    def clean_code(self):
        code = super().clean_code()
        # allauth keeps "used" codes in the cache under the authenticator's user.
        TOTP(Authenticator(user_id=self.user.pk, type=Authenticator.Type.TOTP))._mark_code_used(
            code
        )
        return code


class TrainingForm(forms.Form):
    course = forms.CharField(label=_("Course"), max_length=200)
    completed_on = forms.DateField(
        label=_("Completed on"), widget=forms.DateInput(attrs={"type": "date"})
    )
    expires_on = forms.DateField(
        label=_("Expires on"), widget=forms.DateInput(attrs={"type": "date"})
    )


class EscalationForm(forms.Form):
    minutes = forms.IntegerField(
        label=_("Minutes an approval waits before it moves up the chain"),
        min_value=1,
        max_value=7 * 24 * 60,
    )
