"""Compose (P1, P5): drafts that save as you go, their channels, photos and checks.

Retries are harmless: a draft is found again by the client_key its page made, a photo by
its upload_key, so a request repeated over a poor connection changes nothing twice.
Every write refuses bad input whole (a past time, a forged channel, a text too long for
a chosen channel, a file that is not a photo): nothing is changed, and the message says
what to do.

The record: "post drafted" when a draft is made; "post edited" when the author saves on
purpose (Save, Submit), and while autosaving at most once per EDIT_RECORD_WINDOW with the
state before and after. Autosave writes every few seconds of typing; one event per
keystroke pause would bury the record, and what goes to a supervisor is captured in full
by the submission itself.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.core.files import File
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.actions import Action
from audit.services import record_event
from platforms.models import Channel
from posting import selectors
from posting.checks import run_checks
from posting.lengths import measure, too_long_message
from posting.models import Post, PostPhoto, Publication
from posting.photos import CleanedPhoto, clean_photo
from posting.services import PostingError

MAX_PHOTOS = 4
EDIT_RECORD_WINDOW = timedelta(minutes=10)
UPLOAD_KEY = re.compile(r"^[A-Za-z0-9\-_]{8,64}$")


@dataclass
class DraftChanges:
    """What the compose form says the draft is now."""

    text: str = ""
    location: str = ""
    publish_at: datetime | None = None
    channels: list[Channel] = field(default_factory=list)
    alt_texts: dict[int, str] = field(default_factory=dict)  # photo id -> description


@dataclass
class PhotoUpload:
    file: object  # an UploadedFile
    upload_key: str
    alt_text: str = ""


def _require_author(author, post: Post) -> None:
    if post.author_id != author.pk or post.agency_id != author.agency_id:
        raise PostingError(_("Only the author can change this draft."), code="not_author")
    if not post.is_editable_by_author:
        raise PostingError(
            _("This post is %(status)s and can no longer be changed here.")
            % {"status": post.get_status_display().lower()},
            code="not_editable",
        )


def _lock(post: Post) -> Post:
    return Post.objects.select_for_update().get(agency=post.agency, pk=post.pk)


@transaction.atomic
def create_draft(*, author, client_key) -> Post:
    """The author's draft for this client_key: made once, found again on every retry."""
    client_key = uuid.UUID(str(client_key))
    found = Post.objects.filter(agency=author.agency, client_key=client_key).first()
    if found is None:
        now = timezone.now()
        try:
            with transaction.atomic():  # a savepoint: a racing twin may have made it
                found = Post.objects.create(
                    agency=author.agency, author=author, client_key=client_key,
                    created_at=now, updated_at=now, edit_recorded_at=now,
                )  # fmt: skip
        except IntegrityError:
            found = Post.objects.get(agency=author.agency, client_key=client_key)
        else:
            record_event(actor=author, action=Action.POST_DRAFTED, subject=found)
            return found
    if found.author_id != author.pk:
        # Someone else's key: as if there were no such draft, and never theirs to change.
        raise PostingError(_("That draft does not exist."), code="not_author")
    return found


def _validate(author, post: Post, changes: DraftChanges) -> None:
    usable = set(selectors.usable_channels(author).values_list("pk", flat=True))
    for channel in changes.channels:
        if channel.pk not in usable:
            raise PostingError(
                _("You may not post to “%(channel)s”. Nothing was saved; ask an administrator "
                  "if you should.") % {"channel": channel.name},
                code="channel_not_allowed",
            )  # fmt: skip
    if changes.publish_at is not None and changes.publish_at <= timezone.now():
        raise PostingError(
            _("That time has already passed. Choose a later time, or publish as soon as "
              "approved. Nothing was saved."),
            code="publish_at_past",
        )  # fmt: skip
    if len(changes.location) > Post._meta.get_field("location").max_length:
        raise PostingError(_("The location may have at most 200 characters."), code="location")
    for channel in changes.channels:
        found = measure(changes.text, channel)
        if not found.fits:
            raise PostingError(
                too_long_message(found, channel) + " " + _("Nothing was saved."),
                code="too_long",
            )


def _set_channels(post: Post, channels: list[Channel]) -> None:
    wanted = {channel.pk: channel for channel in channels}
    current = {p.channel_id: p for p in post.publications.all()}
    for channel_id, channel in wanted.items():
        if channel_id not in current:
            Publication.objects.create(agency=post.agency, post=post, channel=channel)
    for channel_id, publication in current.items():
        if channel_id not in wanted and publication.status == Publication.Status.WAITING:
            # A waiting publication never went anywhere: dropping the channel drops it.
            publication.delete()


def _state(post: Post) -> dict:
    snapshot = post.audit_snapshot()
    snapshot["channels"] = sorted(post.publications.values_list("channel_id", flat=True))
    snapshot["photos"] = sorted(selectors.active_photos(post).values_list("pk", flat=True))
    return snapshot


def _apply(author, post: Post, changes: DraftChanges) -> None:
    _validate(author, post, changes)
    post.text = changes.text
    post.location = changes.location
    post.publish_at = changes.publish_at
    _set_channels(post, changes.channels)
    for photo in selectors.active_photos(post).filter(pk__in=list(changes.alt_texts)):
        alt = changes.alt_texts[photo.pk][:1000]
        if photo.alt_text != alt:
            photo.alt_text = alt
            photo.save(update_fields=["alt_text"])


@dataclass
class _Prepared:
    upload: PhotoUpload
    cleaned: CleanedPhoto | None  # None: this upload_key is a photo already made (a retry)


def _prepare_photos(post: Post, uploads: list[PhotoUpload]) -> list[_Prepared]:
    """Every upload checked (and cleaned) before any is stored: one bad file refuses all."""
    prepared, new = [], 0
    existing = set(
        PostPhoto.objects.filter(agency=post.agency, post=post).values_list("upload_key", flat=True)
    )
    active = selectors.active_photos(post).count()
    for upload in uploads:
        if not UPLOAD_KEY.match(upload.upload_key or ""):
            raise PostingError(_("The upload was not labelled; reload the page and try again."),
                               code="upload_key")  # fmt: skip
        if upload.upload_key in existing:
            prepared.append(_Prepared(upload, None))  # the same upload, retried
            continue
        new += 1
        if active + new > MAX_PHOTOS:
            raise PostingError(
                _("A post may have at most %(n)s photos. Remove one to add another.")
                % {"n": MAX_PHOTOS},
                code="too_many_photos",
            )
        name = (getattr(upload.file, "name", "") or "")[:255]
        prepared.append(_Prepared(upload, clean_photo(upload.file, name=name)))
        existing.add(upload.upload_key)
    return prepared


def _store_photo(author, post: Post, item: _Prepared, written: list) -> None:
    upload, cleaned = item.upload, item.cleaned
    position = (selectors.active_photos(post).aggregate(last=Max("position"))["last"] or 0) + 1
    photo = PostPhoto(
        agency=post.agency, post=post, position=position, upload_key=upload.upload_key,
        original_name=(getattr(upload.file, "name", "") or "")[:255],
        content_type=cleaned.content_type, width=cleaned.width, height=cleaned.height,
        size=len(cleaned.data), cleaned_sha256=cleaned.sha256,
        alt_text=(upload.alt_text or "")[:1000],
    )  # fmt: skip
    upload.file.seek(0)
    # Both files under names with no part of the author's: see posting.models.photo_path.
    photo.original.save("original", File(upload.file), save=False)
    written.append(photo.original)
    photo.cleaned.save("cleaned", ContentFile(cleaned.data), save=False)
    written.append(photo.cleaned)
    photo.save()
    record_event(actor=author, action=Action.POST_PHOTO_ADDED, subject=post,
                 details={"photo": photo.pk, "cleaned_sha256": photo.cleaned_sha256,
                          "bytes": photo.size, "received_bytes": upload.file.size})  # fmt: skip


def refresh_checks(post: Post) -> list[dict]:
    post.check_results = run_checks(
        text=post.text, channels=selectors.post_channels(post), agency=post.agency,
        descriptions=list(selectors.active_photos(post).values_list("alt_text", flat=True)),
    )  # fmt: skip
    return post.check_results


@transaction.atomic
def save_draft(*, author, client_key, changes: DraftChanges | None = None,
               photos: list[PhotoUpload] = (), on_purpose: bool = False) -> Post:  # fmt: skip
    """Make or find the draft for client_key, then apply the form's changes and photos,
    all or nothing. `on_purpose`: the author pressed Save or Submit (always recorded);
    otherwise this is autosave (recorded at most once per EDIT_RECORD_WINDOW)."""
    post = _lock(create_draft(author=author, client_key=client_key))
    _require_author(author, post)
    before = _state(post)
    if changes is not None:
        _apply(author, post, changes)
    written = []
    try:
        for item in _prepare_photos(post, list(photos)):
            if item.cleaned is not None:
                _store_photo(author, post, item, written)
    except BaseException:
        # The rows roll back with the transaction; the files would not. An original holds
        # the photo's location: none may stay on disk unreferenced.
        for stored in written:
            stored.storage.delete(stored.name)
        raise
    refresh_checks(post)
    now = timezone.now()
    after = _state(post)
    # Photos have their own events; this one is about the words, channels and time.
    changed = {key for key in after if after[key] != before[key]} - {"photos"}
    if changed:
        post.updated_at = now
    # Changes an autosave made without an event (inside the window) are still owed one.
    unrecorded = post.edit_recorded_at is None or post.updated_at > post.edit_recorded_at
    due = post.edit_recorded_at is None or now - post.edit_recorded_at >= EDIT_RECORD_WINDOW
    record = unrecorded and (on_purpose or due)
    if record:
        since = post.edit_recorded_at
        post.edit_recorded_at = now
    post.save()
    if record:
        record_event(actor=author, action=Action.POST_EDITED, subject=post,
                     details={"changed": sorted(changed), "before": before,
                              "unrecorded_since": since.isoformat() if since else None,
                              "autosave": not on_purpose})  # fmt: skip
    return post


@transaction.atomic
def remove_photo(*, author, post: Post, photo: PostPhoto) -> PostPhoto:
    post = _lock(post)
    _require_author(author, post)
    if photo.post_id != post.pk:
        raise PostingError(_("That photo is not part of this post."), code="photo")
    if photo.removed_at is None:
        photo.removed_at = timezone.now()
        photo.save(update_fields=["removed_at"])
        refresh_checks(post)
        post.save(update_fields=["check_results"])
        record_event(actor=author, action=Action.POST_PHOTO_REMOVED, subject=post,
                     details={"photo": photo.pk})  # fmt: skip
    return photo


WITHDRAWABLE = (Post.Status.DRAFT, Post.Status.REJECTED, Post.Status.AWAITING_APPROVAL)


@transaction.atomic
def withdraw_post(*, author, post: Post) -> Post:
    """The author takes back a post that has not been released to publish."""
    post = _lock(post)
    if post.author_id != author.pk:
        raise PostingError(_("Only the author can withdraw this post."), code="not_author")
    if post.status not in WITHDRAWABLE:
        raise PostingError(
            _("This post is %(status)s: it can no longer be withdrawn here.")
            % {"status": post.get_status_display().lower()},
            code="not_withdrawable",
        )
    post.publications.filter(status=Publication.Status.WAITING).update(
        status=Publication.Status.CANCELLED, updated_at=timezone.now()
    )
    post.status = Post.Status.WITHDRAWN
    post.updated_at = timezone.now()
    post.save(update_fields=["status", "updated_at"])
    record_event(actor=author, action=Action.POST_WITHDRAWN, subject=post)
    return post
