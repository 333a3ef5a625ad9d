from django import forms
from django.utils.translation import gettext_lazy as _

from audit.actions import Action, Outcome


class EventSearchForm(forms.Form):
    text = forms.CharField(label=_("Words"), required=False, max_length=200)
    action = forms.ChoiceField(label=_("What happened"), required=False)
    person = forms.CharField(label=_("Person (username)"), required=False, max_length=150)
    outcome = forms.ChoiceField(label=_("Outcome"), required=False)
    since = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["action"].choices = [("", _("Anything"))] + list(Action.choices)
        self.fields["outcome"].choices = [("", _("Any outcome"))] + list(Outcome.choices)

    def clean(self):
        cleaned = super().clean()
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and since > until:
            self.add_error("until", _("The end date is before the start date."))
        return cleaned
