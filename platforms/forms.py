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
