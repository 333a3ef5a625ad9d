from django import forms
from django.utils.translation import gettext_lazy as _

from audit.actions import Action, Outcome
from audit.search import SearchError, parse_query
from audit.sources import Terms, record_sources

# "What" may name a kind of record kept by another app (comments, posts) rather than an
# action of the log: those choices start with this.
SOURCE_KIND = "records:"
LOG_ONLY = "log"


class EventSearchForm(forms.Form):
    text = forms.CharField(
        label=_("Words"),
        required=False,
        max_length=400,  # parse_query names the real limit; this only stops abuse
        help_text=_('Words in any form; "an exact phrase" in quotes; -word to leave out; OR.'),
    )
    kind = forms.ChoiceField(label=_("What"), required=False)
    person = forms.CharField(label=_("Person (username)"), required=False, max_length=150)
    channel = forms.CharField(label=_("Channel"), required=False, max_length=200)
    outcome = forms.ChoiceField(label=_("Outcome"), required=False)
    since = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = (
            [("", _("Everything")), (LOG_ONLY, _("Log entries only"))]
            + [(f"{SOURCE_KIND}{s.key}", s.label) for s in record_sources()]
            + [(_("Log entries"), list(Action.choices))]
        )
        self.fields["outcome"].choices = [("", _("Any outcome"))] + list(Outcome.choices)

    def clean_text(self):
        text = self.cleaned_data["text"]
        try:
            self.cleaned_data["query"] = parse_query(text)
        except SearchError as error:
            raise forms.ValidationError(error.message) from error
        return text

    def clean(self):
        cleaned = super().clean()
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and since > until:
            self.add_error("until", _("The end date is before the start date."))
        return cleaned

    # --- What the searches read ----------------------------------------------------------

    def event_filters(self) -> dict | None:
        """Keyword arguments for selectors.events, or None when the log is not asked."""
        data = self.cleaned_data
        kind = data.get("kind") or ""
        if kind.startswith(SOURCE_KIND):
            return None
        return {
            "query": data.get("query"),
            "action": "" if kind == LOG_ONLY else kind,
            "outcome": data.get("outcome") or "",
            "person": data.get("person") or "",
            "channel": data.get("channel") or "",
            "since": data.get("since"),
            "until": data.get("until"),
        }

    def wanted_sources(self) -> list:
        """The other apps' records asked for: every source unless a log action, a log
        outcome or one source was chosen (their records have no action or outcome)."""
        data = self.cleaned_data
        kind = data.get("kind") or ""
        if kind.startswith(SOURCE_KIND):
            return [s for s in record_sources() if f"{SOURCE_KIND}{s.key}" == kind]
        if kind or data.get("outcome"):
            return []
        return record_sources()

    def terms(self) -> Terms:
        data = self.cleaned_data
        return Terms(
            query=data.get("query") or Terms().query,
            since=data.get("since"),
            until=data.get("until"),
            person=(data.get("person") or "").strip(),
            channel=(data.get("channel") or "").strip(),
        )

    def as_saved(self) -> dict:
        """The filters as they were typed, to store with an export and re-read there."""
        return {
            name: (value.isoformat() if hasattr(value, "isoformat") else value)
            for name, value in self.cleaned_data.items()
            if name != "query" and value
        }


# --- Retention, legal holds, records requests (R5) -----------------------------------------


class RetentionForm(forms.Form):
    kind = forms.CharField(widget=forms.HiddenInput)
    days = forms.IntegerField(label=_("Keep for (days)"), min_value=1, max_value=36500)


def _channel_field():
    return forms.TypedChoiceField(label=_("Channel"), required=False, coerce=int, empty_value=None)


class LegalHoldForm(forms.Form):
    reason = forms.CharField(
        label=_("Matter or case"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Why these records must be kept, e.g. the case number."),
    )
    kind = forms.ChoiceField(label=_("Kind of record"), required=False)
    record_id = forms.CharField(
        label=_("Record id"),
        required=False,
        max_length=64,
        help_text=_("Only this record of the kind above."),
    )
    channel = _channel_field()
    person = forms.CharField(
        label=_("Person"),
        required=False,
        max_length=150,
        help_text=_("A member's username, or a commenter's handle or name."),
    )
    starts_on = forms.DateField(
        label=_("Dated from"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    ends_on = forms.DateField(
        label=_("Dated to"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, kinds, channels, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [("", _("Every kind"))] + [(k.name, k.label) for k in kinds]
        self.fields["channel"].choices = [("", _("Every channel"))] + list(channels)


class ReleaseHoldForm(forms.Form):
    reason = forms.CharField(label=_("Why release it"), max_length=2000)


class RecordsRequestForm(forms.Form):
    requester = forms.CharField(label=_("Requester"), max_length=200)
    requester_contact = forms.CharField(
        label=_("Requester's contact"), required=False, max_length=200
    )
    received_on = forms.DateField(
        label=_("Received on"), widget=forms.DateInput(attrs={"type": "date"})
    )
    date_from = forms.DateField(
        label=_("Records from"), widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(label=_("Records to"), widget=forms.DateInput(attrs={"type": "date"}))
    kinds = forms.MultipleChoiceField(label=_("Which records"), widget=forms.CheckboxSelectMultiple)
    channel = _channel_field()
    person = forms.CharField(
        label=_("Only this person"),
        required=False,
        max_length=150,
        help_text=_("A member's username, or a commenter's handle or name."),
    )
    redact_personal_data = forms.BooleanField(
        label=_("Redact personal data in public comments (in the copy only)"),
        required=False,
        initial=True,
    )
    notes = forms.CharField(
        label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, kinds, channels, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kinds"].choices = [(k.name, k.label) for k in kinds]
        self.fields["kinds"].initial = [k.name for k in kinds]
        self.fields["channel"].choices = [("", _("Every channel"))] + list(channels)

    def clean(self):
        cleaned = super().clean()
        since, until = cleaned.get("date_from"), cleaned.get("date_to")
        if since and until and since > until:
            self.add_error("date_to", _("The end date is before the start date."))
        return cleaned
