"""The compose form (P1): what the author typed, chose and attached."""

from __future__ import annotations

import uuid
from zoneinfo import ZoneInfo

from django import forms
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from posting import selectors
from posting.services.drafts import DraftChanges


class MultiplePhotoInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultiplePhotoField(forms.FileField):
    """Django's documented pattern for <input type=file multiple>; each file is checked
    by posting.photos (its content), not here (its name)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultiplePhotoInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        files = data if isinstance(data, list | tuple) else ([data] if data else [])
        return [super(MultiplePhotoField, self).clean(item, initial) for item in files]


class ComposeForm(forms.Form):
    WHEN = [("now", gettext_lazy("As soon as it may go")), ("later", gettext_lazy("At a set time"))]

    client_key = forms.UUIDField(widget=forms.HiddenInput)
    # Without JavaScript every file of one form submission shares this key (plus its
    # position); re-sending the same page therefore re-sends the same keys.
    upload_key = forms.CharField(widget=forms.HiddenInput, required=False, max_length=40)
    text = forms.CharField(
        label=gettext_lazy("Post text"), required=False, strip=False,
        widget=forms.Textarea(attrs={"rows": 6, "autocomplete": "off", "spellcheck": "true"}),
    )  # fmt: skip
    photos = MultiplePhotoField(
        label=gettext_lazy("Add photos"), required=False,
        widget=MultiplePhotoInput(attrs={"accept": "image/jpeg,image/png,image/webp,image/gif"}),
    )  # fmt: skip
    location = forms.CharField(label=gettext_lazy("Location (optional)"), required=False,
                               max_length=200)  # fmt: skip
    when = forms.ChoiceField(label=gettext_lazy("When"), choices=WHEN, initial="now",
                             widget=forms.RadioSelect)  # fmt: skip
    publish_at = forms.DateTimeField(
        label=gettext_lazy("Publish at"), required=False, input_formats=["%Y-%m-%dT%H:%M"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )  # fmt: skip

    # Views run this form inside timezone.override(agency zone): the time typed is the
    # agency's wall clock, whatever the phone's own zone, and is stored in UTC.
    def __init__(self, *args, author, **kwargs):
        super().__init__(*args, **kwargs)
        self.author = author
        self.zone = ZoneInfo(author.agency.time_zone or "UTC")
        self.usable = list(selectors.usable_channels(author))
        self.fields["publish_at"].help_text = _("In the agency's time zone, %s.") % self.zone.key

    def clean(self):
        data = super().clean()
        usable = {channel.pk: channel for channel in self.usable}
        chosen = []
        for raw in self.data.getlist("channels"):
            channel = usable.get(int(raw)) if str(raw).isdigit() else None
            if channel is None:
                # A forged or stale id: refuse the whole form, never drop it silently.
                raise forms.ValidationError(
                    _("One of the chosen channels is not one you may post to. Nothing was "
                      "saved; reload the page to see your channels."),
                    code="channel_not_allowed",
                )  # fmt: skip
            chosen.append(channel)
        data["channels"] = chosen
        if data.get("when") == "later":
            if not data.get("publish_at") and "publish_at" not in self.errors:
                self.add_error("publish_at", _("Choose the date and time to publish."))
            elif data.get("publish_at") and data["publish_at"] <= timezone.now():
                now = timezone.now().astimezone(self.zone).strftime("%Y-%m-%d %H:%M")
                self.add_error("publish_at", _(
                    "That time has already passed (it is now %(now)s in %(zone)s). Choose a "
                    "later time, or publish as soon as it may go.") % {
                        "now": now, "zone": self.zone.key})  # fmt: skip
        else:
            data["publish_at"] = None
        return data

    def changes(self) -> DraftChanges:
        data = self.cleaned_data
        alt_texts = {
            int(key.removeprefix("alt_")): value
            for key, value in self.data.items()
            if key.startswith("alt_")
            and key.removeprefix("alt_").isdigit()
            and len(key) < 20  # a photo id, never a number past the database's integers
        }
        return DraftChanges(text=data["text"], location=data["location"],
                            publish_at=data["publish_at"], channels=data["channels"],
                            alt_texts=alt_texts)  # fmt: skip

    @property
    def chosen_ids(self) -> set[int]:
        return {int(raw) for raw in self.data.getlist("channels") if str(raw).isdigit()}


def initial_for(post=None) -> dict:
    if post is None:
        return {"client_key": uuid.uuid4(), "upload_key": uuid.uuid4().hex, "when": "now"}
    return {
        "client_key": post.client_key, "upload_key": uuid.uuid4().hex, "text": post.text,
        "location": post.location, "when": "later" if post.publish_at else "now",
        "publish_at": post.publish_at,
    }  # fmt: skip
