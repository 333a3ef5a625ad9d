from django import forms
from django.utils.translation import gettext_lazy as _


class DryRunForm(forms.Form):
    file = forms.FileField(
        label=_("Comments (JSON Lines)"),
        help_text=_('One comment per line: {"id": "1", "text": "…"}'),
    )
