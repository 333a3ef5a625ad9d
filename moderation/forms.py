"""Comment forms: the policy (M2–M4: rules and actions, terms, staffed hours, surges) and
the dry run's upload (M6)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from moderation.policies import CONFIGURABLE, REPLY_MAX, RULE_ACTIONS, WEEKDAYS, PolicyChange

RULE_LABELS = {
    "personal_data": _("Personal data"),
    "profanity": _("Profanity"),
    "spam": _("Spam and links"),
    "custom": _("Custom block terms"),
}
ACTION_LABELS = {
    "allow": _("Allow (rule off)"),
    "hide": _("Hide"),
    "hold": _("Hold for review"),
    "delete": _("Delete"),
    "reply": _("Reply with the text below"),
    "escalate": _("Escalate to supervisors"),
}
DAY_LABELS = (_("Monday"), _("Tuesday"), _("Wednesday"), _("Thursday"), _("Friday"),
              _("Saturday"), _("Sunday"))  # fmt: skip


def _lines(value: str) -> list[str]:
    return [line.strip() for line in (value or "").splitlines() if line.strip()]


class PolicyForm(forms.Form):
    block_terms = forms.CharField(
        label=_("Block terms"), required=False, widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("One per line. Matched like profanity, disguises included."),
    )  # fmt: skip
    allow_terms = forms.CharField(
        label=_("Allow terms"), required=False, widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("One per line: words that must never fire (a place name, a surname)."),
    )  # fmt: skip
    hold_outside_staffed_hours = forms.BooleanField(
        label=_("Hold every new comment outside staffed hours"), required=False
    )
    surge_per_minute = forms.IntegerField(
        label=_("Surge: hold every new comment when a channel gets more than this many a minute"),
        min_value=1, max_value=100000,
    )  # fmt: skip

    def __init__(self, *args, channels=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.channels = list(channels)
        for category in CONFIGURABLE:
            self.fields[f"action_{category}"] = forms.ChoiceField(
                label=RULE_LABELS[category],
                choices=[(a, ACTION_LABELS[a]) for a in RULE_ACTIONS],
            )
            self.fields[f"reply_{category}"] = forms.CharField(
                label=_("Reply for %s") % RULE_LABELS[category],
                required=False, max_length=REPLY_MAX,
            )  # fmt: skip
        for day in WEEKDAYS:
            for end in ("start", "end"):
                self.fields[f"day{day}_{end}"] = forms.TimeField(
                    label=f"{DAY_LABELS[int(day)]} {end}", required=False,
                    widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
                )  # fmt: skip
        for channel in self.channels:
            self.fields[f"surge_{channel.pk}"] = forms.IntegerField(
                label=str(channel), required=False, min_value=1, max_value=100000
            )

    @classmethod
    def initial_from(cls, row, channels):
        initial = {
            "block_terms": "\n".join(row.block_terms or []),
            "allow_terms": "\n".join(row.allow_terms or []),
            "hold_outside_staffed_hours": row.hold_outside_staffed_hours,
            "surge_per_minute": row.surge_per_minute,
        }
        for category in CONFIGURABLE:
            initial[f"action_{category}"] = (row.actions or {}).get(category, "allow")
            initial[f"reply_{category}"] = (row.reply_templates or {}).get(category, "")
        for day, (start, end) in (row.staffed_hours or {}).items():
            initial[f"day{day}_start"], initial[f"day{day}_end"] = start, end
        for channel in channels:
            initial[f"surge_{channel.pk}"] = (row.surge_per_channel or {}).get(str(channel.pk))
        return cls(initial=initial, channels=channels)

    def clean(self):
        data = super().clean()
        for day in WEEKDAYS:
            start, end = data.get(f"day{day}_start"), data.get(f"day{day}_end")
            if (start is None) != (end is None):
                self.add_error(f"day{day}_end", _("Give both a start and an end, or neither."))
        return data

    def change(self) -> PolicyChange:
        data = self.cleaned_data
        hours = {}
        for day in WEEKDAYS:
            start, end = data.get(f"day{day}_start"), data.get(f"day{day}_end")
            if start is not None and end is not None:
                hours[day] = [start.strftime("%H:%M"), end.strftime("%H:%M")]
        return PolicyChange(
            actions={c: data[f"action_{c}"] for c in CONFIGURABLE},
            reply_templates={c: data.get(f"reply_{c}") or "" for c in CONFIGURABLE},
            block_terms=_lines(data.get("block_terms")),
            allow_terms=_lines(data.get("allow_terms")),
            hold_outside_staffed_hours=data.get("hold_outside_staffed_hours", False),
            staffed_hours=hours,
            surge_per_minute=data["surge_per_minute"],
            surge_per_channel={
                str(c.pk): data[f"surge_{c.pk}"]
                for c in self.channels
                if data.get(f"surge_{c.pk}") is not None
            },
        )

    def rule_rows(self):
        return [(RULE_LABELS[c], self[f"action_{c}"], self[f"reply_{c}"]) for c in CONFIGURABLE]

    def day_rows(self):
        return [(DAY_LABELS[int(d)], self[f"day{d}_start"], self[f"day{d}_end"]) for d in WEEKDAYS]

    def surge_rows(self):
        return [(c, self[f"surge_{c.pk}"]) for c in self.channels]


class DryRunForm(forms.Form):
    file = forms.FileField(
        label=_("Comments (JSON Lines)"),
        help_text=_('One comment per line: {"id": "1", "text": "…"}'),
    )
