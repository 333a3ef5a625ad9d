from django import forms
from django.utils.translation import gettext_lazy as _

from platforms.models import Channel, Platform


class ChannelFilterForm(forms.Form):
    search = forms.CharField(label=_("Name or handle"), required=False, max_length=100)
    platform = forms.ChoiceField(label=_("Platform"), required=False)
    status = forms.ChoiceField(label=_("Status"), required=False)
    compliance = forms.ChoiceField(
        label=_("Profile"),
        required=False,
        choices=[("", _("Any")), ("short", _("Falls short")), ("ok", _("Complies"))],
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["platform"].choices = [("", _("Any platform"))] + list(Platform.choices)
        self.fields["status"].choices = (
            [("", _("Any status"))]
            + list(Channel.Status.choices)
            + [("rate_limited", _("Rate-limited now"))]
        )


class MastodonInstanceForm(forms.Form):
    instance = forms.CharField(
        label=_("Mastodon instance"),
        max_length=200,
        help_text=_("The server the account lives on, e.g. mastodon.social."),
        widget=forms.TextInput(attrs={"placeholder": "mastodon.social", "autocomplete": "url"}),
    )


class BlueskyLoginForm(forms.Form):
    identifier = forms.CharField(
        label=_("Bluesky handle"),
        max_length=253,
        widget=forms.TextInput(attrs={"placeholder": "metropd.bsky.social", "autocomplete": "off"}),
    )
    app_password = forms.CharField(
        label=_("App password"),
        max_length=100,
        help_text=_(
            "Create one in Bluesky: Settings → Privacy and security → App passwords. "
            "Never the account's own password."
        ),  # fmt: skip
        widget=forms.PasswordInput(attrs={"autocomplete": "off"}),
    )
