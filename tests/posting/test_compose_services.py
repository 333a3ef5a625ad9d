"""Drafting (P1, P5) through the services: idempotent drafts and photos, clean photos,
and bad input refused whole."""

import io
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone
from PIL import Image

from audit.actions import Action
from audit.models import AuditEvent
from posting.models import Post, PostPhoto, Publication
from posting.services import PostingError
from posting.services.drafts import (
    EDIT_RECORD_WINDOW,
    DraftChanges,
    PhotoUpload,
    create_draft,
    remove_photo,
    save_draft,
    withdraw_post,
)
from tests.posting.compose_helpers import gps_of, jpeg_with_gps, media, newsroom, upload

__all__ = ["media", "newsroom"]  # fixtures


def events(action):
    return AuditEvent.objects.filter(action=action).count()


def state(post):
    post = Post.objects.get(pk=post.pk)
    return (
        post.text, post.location, post.publish_at, post.status,
        sorted(post.publications.values_list("channel_id", flat=True)),
        sorted(PostPhoto.objects.filter(post=post).values_list("pk", "removed_at")),
    )  # fmt: skip


def test_a_retried_create_finds_the_same_draft(newsroom):
    key = uuid.uuid4()
    first = create_draft(author=newsroom.officer, client_key=key)
    again = create_draft(author=newsroom.officer, client_key=str(key))
    assert first.pk == again.pk
    assert Post.objects.filter(client_key=key).count() == 1
    assert events(Action.POST_DRAFTED) == 1


def test_someone_elses_key_is_not_their_draft(newsroom):
    key = uuid.uuid4()
    create_draft(author=newsroom.officer, client_key=key)
    with pytest.raises(PostingError, match="does not exist"):
        create_draft(author=newsroom.admin, client_key=key)


def test_saving_sets_text_channels_and_checks(newsroom):
    key = uuid.uuid4()
    changes = DraftChanges(text="Road closed on Elm St. Call me on my cell 555-310-4455",
                           channels=[newsroom.x, newsroom.bluesky])  # fmt: skip
    post = save_draft(author=newsroom.officer, client_key=key, changes=changes, on_purpose=True)
    assert post.text.startswith("Road closed")
    pubs = Publication.objects.filter(post=post)
    assert {p.channel_id for p in pubs} == {newsroom.x.pk, newsroom.bluesky.pk}
    assert {p.status for p in pubs} == {Publication.Status.WAITING}
    failed = [r for r in post.check_results if not r["ok"]]
    assert [r["check"] for r in failed] == ["personal_data"]
    start, end = failed[0]["span"]
    assert post.text[start:end] == "555-310-4455"
    # Dropping a channel drops its waiting publication.
    changes.channels = [newsroom.x]
    save_draft(author=newsroom.officer, client_key=key, changes=changes)
    assert list(post.publications.values_list("channel_id", flat=True)) == [newsroom.x.pk]


def test_autosave_records_one_edit_per_window_and_every_save_on_purpose(newsroom):
    key = uuid.uuid4()
    officer = newsroom.officer
    for text in ("R", "Ro", "Roa", "Road"):
        save_draft(author=officer, client_key=key, changes=DraftChanges(text=text))
    assert events(Action.POST_DRAFTED) == 1
    assert events(Action.POST_EDITED) == 0  # inside the window opened by drafting
    post = Post.objects.get(client_key=key)
    Post.objects.filter(pk=post.pk).update(
        edit_recorded_at=timezone.now() - EDIT_RECORD_WINDOW - timedelta(seconds=1)
    )
    save_draft(author=officer, client_key=key, changes=DraftChanges(text="Road closed"))
    save_draft(author=officer, client_key=key, changes=DraftChanges(text="Road closed."))
    assert events(Action.POST_EDITED) == 1
    save_draft(author=officer, client_key=key, changes=DraftChanges(text="Road closed!"),
               on_purpose=True)  # fmt: skip
    assert events(Action.POST_EDITED) == 2
    last = AuditEvent.objects.filter(action=Action.POST_EDITED).order_by("-seq").first()
    assert last.details["before"]["text"] == "Road closed."
    assert last.details["autosave"] is False
    # Saving the same thing again is not an edit.
    save_draft(author=officer, client_key=key, changes=DraftChanges(text="Road closed!"),
               on_purpose=True)  # fmt: skip
    assert events(Action.POST_EDITED) == 2


def test_a_photo_is_stored_without_gps_and_the_original_is_kept(newsroom):
    key = uuid.uuid4()
    sent = jpeg_with_gps(size=(40, 30), orientation=6)
    assert gps_of(sent)  # the test photo does carry a position
    post = save_draft(author=newsroom.officer, client_key=key,
                      photos=[PhotoUpload(upload(sent), "key-0001", "A closed road")])  # fmt: skip
    photo = PostPhoto.objects.get(post=post)
    cleaned = photo.cleaned.open("rb").read()
    assert gps_of(cleaned) == {}
    with Image.open(io.BytesIO(cleaned)) as image:
        assert len(image.getexif()) == 0
        assert image.size == (30, 40)  # turned upright as the phone meant it
    assert b"PhoneMaker" not in cleaned
    assert photo.original.open("rb").read() == sent
    assert photo.original_name == "IMG_0001.jpg"
    assert "IMG_0001" not in photo.original.name and "IMG_0001" not in photo.cleaned.name
    assert (photo.width, photo.height, photo.alt_text) == (30, 40, "A closed road")
    assert events(Action.POST_PHOTO_ADDED) == 1


def test_a_retried_upload_is_the_same_photo(newsroom):
    key = uuid.uuid4()
    data = jpeg_with_gps()
    for _ in range(3):
        save_draft(author=newsroom.officer, client_key=key,
                   photos=[PhotoUpload(upload(data), "same-upload-key")])  # fmt: skip
    assert PostPhoto.objects.count() == 1
    assert events(Action.POST_PHOTO_ADDED) == 1


def test_at_most_four_photos(newsroom):
    key = uuid.uuid4()
    data = jpeg_with_gps()
    photos = [PhotoUpload(upload(data), f"upload-key-{n}") for n in range(4)]
    post = save_draft(author=newsroom.officer, client_key=key, photos=photos)
    before = state(post)
    with pytest.raises(PostingError, match="at most 4 photos"):
        save_draft(author=newsroom.officer, client_key=key,
                   photos=[PhotoUpload(upload(data), "upload-key-5")])  # fmt: skip
    assert state(post) == before
    # Removing one makes room.
    remove_photo(author=newsroom.officer, post=post, photo=PostPhoto.objects.first())
    save_draft(author=newsroom.officer, client_key=key,
               photos=[PhotoUpload(upload(data), "upload-key-5")])  # fmt: skip
    assert PostPhoto.objects.filter(removed_at__isnull=True).count() == 4


@pytest.fixture
def saved(newsroom):
    """A saved draft and its state, to prove bad input changes nothing."""
    changes = DraftChanges(text="Road closed on Elm St.", channels=[newsroom.x])
    post = save_draft(author=newsroom.officer, client_key=uuid.uuid4(), changes=changes,
                      photos=[PhotoUpload(upload(jpeg_with_gps()), "first-photo")])  # fmt: skip
    return post, state(post), AuditEvent.objects.count()


def _unchanged(saved):
    post, before, count = saved
    assert state(post) == before
    assert AuditEvent.objects.count() == count


def test_bad_input_text_too_long_for_a_chosen_channel(newsroom, saved):
    post = saved[0]
    changes = DraftChanges(text="x" * 281, channels=[newsroom.x])
    with pytest.raises(PostingError, match=r"Too long for Metro on X: 281 of 280.*by 1\."):
        save_draft(author=newsroom.officer, client_key=post.client_key, changes=changes)
    _unchanged(saved)
    # Mastodon's limit is the instance's own (100 here), links count 23.
    changes = DraftChanges(text="a" * 80 + " https://example.org/" + "b" * 200,
                           channels=[newsroom.mastodon])  # fmt: skip
    with pytest.raises(PostingError, match="Too long for Metro on Mastodon"):
        save_draft(author=newsroom.officer, client_key=post.client_key, changes=changes)
    _unchanged(saved)


def test_bad_input_not_an_image(newsroom, saved):
    post = saved[0]
    fake = upload(b"%PDF-1.7 this is a document", name="photo.jpg")
    with pytest.raises(PostingError, match="“photo.jpg” is not a photo SMC can use"):
        save_draft(author=newsroom.officer, client_key=post.client_key,
                   changes=DraftChanges(text="Changed text", channels=[newsroom.x]),
                   photos=[PhotoUpload(fake, "second-photo")])  # fmt: skip
    _unchanged(saved)


def test_bad_input_an_image_too_large(newsroom, saved, settings):
    post = saved[0]
    settings.SMC_PHOTO_MAX_MB = 1
    big = upload(jpeg_with_gps() + b"\0" * (1024 * 1024), name="huge.jpg")
    with pytest.raises(PostingError, match="“huge.jpg” is larger than 1 MB"):
        save_draft(author=newsroom.officer, client_key=post.client_key,
                   photos=[PhotoUpload(big, "second-photo")])  # fmt: skip
    _unchanged(saved)


def test_bad_input_a_time_in_the_past(newsroom, saved):
    post = saved[0]
    changes = DraftChanges(text="Later", channels=[newsroom.x],
                           publish_at=timezone.now() - timedelta(minutes=1))  # fmt: skip
    with pytest.raises(PostingError, match="already passed"):
        save_draft(author=newsroom.officer, client_key=post.client_key, changes=changes)
    _unchanged(saved)


def test_bad_input_a_channel_the_author_may_not_use(newsroom, saved, other_agency):
    post = saved[0]
    changes = DraftChanges(text="Hello", channels=[newsroom.x, newsroom.closed])
    with pytest.raises(PostingError, match="You may not post to “Chief's own X”"):
        save_draft(author=newsroom.officer, client_key=post.client_key, changes=changes)
    _unchanged(saved)


def test_withdraw_cancels_the_waiting_publications(newsroom, saved):
    post = saved[0]
    withdraw_post(author=newsroom.officer, post=post)
    post.refresh_from_db()
    assert post.status == Post.Status.WITHDRAWN
    assert set(post.publications.values_list("status", flat=True)) == {"cancelled"}
    with pytest.raises(PostingError, match="can no longer be changed"):
        save_draft(author=newsroom.officer, client_key=post.client_key,
                   changes=DraftChanges(text="again"))  # fmt: skip


def test_one_bad_file_among_good_ones_stores_none(newsroom, saved, media):
    post = saved[0]
    files_before = sorted(p for p in media.rglob("*") if p.is_file())
    photos = [
        PhotoUpload(upload(jpeg_with_gps()), "good-photo-1"),
        PhotoUpload(upload(b"not an image", name="bad.jpg"), "bad-photo-2"),
    ]
    with pytest.raises(PostingError, match="“bad.jpg” is not a photo"):
        save_draft(author=newsroom.officer, client_key=post.client_key, photos=photos)
    _unchanged(saved)
    assert sorted(p for p in media.rglob("*") if p.is_file()) == files_before


def test_five_photos_in_one_request_are_refused_whole(newsroom, media):
    key = uuid.uuid4()
    photos = [PhotoUpload(upload(jpeg_with_gps()), f"many-photos-{n}") for n in range(5)]
    with pytest.raises(PostingError, match="at most 4 photos"):
        save_draft(author=newsroom.officer, client_key=key, photos=photos)
    assert PostPhoto.objects.count() == 0 and Post.objects.count() == 0
