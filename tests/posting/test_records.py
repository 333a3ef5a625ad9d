"""Posts are public records: the auditor finds a post by a word of any revision and opens
it with every revision; retention keeps posts for years, purges an old withdrawn draft
(rows and photo files) and never a held post or one still on a platform."""

import uuid
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from audit.actions import Action
from audit.models import AuditEvent
from audit.requests import create_records_request, records_request_records
from audit.retention import (
    RetentionError,
    get_record_kind,
    place_hold,
    purge_expired_records,
    purge_records,
    retention_days,
)
from audit.services import verify_chain
from posting.models import Post, PostPhoto, PostRevision, Publication
from posting.services.approval import edit_as_supervisor, submit_post
from posting.services.drafts import DraftChanges, PhotoUpload, save_draft, withdraw_post
from tests.factories import make_post
from tests.posting.compose_helpers import jpeg_with_gps, upload

EIGHT_YEARS_AGO = timedelta(days=8 * 365)


def edited_post(desk):
    """Submitted as "Elm St", then edited by the sergeant to "Maple Avenue"."""
    post = make_post(desk.officer, channels=[desk.x], text="Road closed on Elm St until 5 pm.")
    post = submit_post(author=desk.officer, post=post)
    return edit_as_supervisor(
        supervisor=desk.sergeant, post=post, text="Road closed on Maple Avenue until 6 pm."
    )


def test_the_auditor_finds_a_post_by_a_word_of_an_earlier_revision_and_sees_them_all(desk, client):
    post = edited_post(desk)
    assert "Elm" not in post.text
    client.force_login(desk.auditor.user)

    found = client.get(reverse("audit:event_list"), {"text": "Elm"}).content.decode()
    link = reverse("audit:record_detail", args=["posts", post.pk])
    assert 'data-testid="hits-posts"' in found and link in found
    missing = client.get(reverse("audit:event_list"), {"text": "Oak"}).content.decode()
    assert link not in missing

    page = client.get(link)
    assert page.status_code == 200
    body = page.content.decode()
    assert "Road closed on Elm St until 5 pm." in body
    assert "Road closed on Maple Avenue until 6 pm." in body
    assert "Metro on X" in body
    # The chain entries about the post are listed with it, and the reading is recorded.
    assert str(Action.POST_EDITED_BY_SUPERVISOR.label) in body
    opened = AuditEvent.objects.filter(action=Action.RECORD_VIEWED).get()
    assert opened.details == {"source": "posts", "record": str(post.pk)}
    assert client.get(reverse("audit:record_detail", args=["posts", "x1"])).status_code == 404


def test_a_records_request_holds_the_posts_with_every_revision(desk):
    post = edited_post(desk)
    today = timezone.localdate()
    made = create_records_request(
        member=desk.auditor, requester="Jordan Press", received_on=today, date_from=today,
        date_to=today, kinds=["posting.post"],
    )  # fmt: skip
    records = list(records_request_records(made))
    assert [r.record_id for r in records] == [post.pk]
    texts = [v["text"] for v in records[0].fields["versions"]]
    assert texts == ["Road closed on Elm St until 5 pm.", "Road closed on Maple Avenue until 6 pm."]


@pytest.fixture
def old_posts(desk, settings, tmp_path):
    """An old withdrawn draft with a photo, an old one like it under hold, and an old
    post still published on X."""
    settings.MEDIA_ROOT = tmp_path / "media"

    def draft(text):
        changes = DraftChanges(text=text, channels=[desk.x])
        photo = PhotoUpload(upload(jpeg_with_gps()), uuid.uuid4().hex)
        post = save_draft(
            author=desk.officer, client_key=uuid.uuid4(), changes=changes, photos=[photo]
        )
        return withdraw_post(author=desk.officer, post=post)

    withdrawn, held = draft("Old draft"), draft("Held draft")
    published = make_post(desk.officer, channels=[desk.x], text="Old but still up",
                          status=Post.Status.PUBLISHED)  # fmt: skip
    Publication.objects.filter(post=published).update(status=Publication.Status.PUBLISHED)
    long_ago = timezone.now() - EIGHT_YEARS_AGO
    Post.objects.update(created_at=long_ago, updated_at=long_ago)
    Publication.objects.update(updated_at=long_ago)
    hold = place_hold(member=desk.admin, reason="Lawsuit 12", kind="posting.post",
                      record_id=str(held.pk))  # fmt: skip
    return withdrawn, held, published, hold


def test_posts_are_kept_seven_years_by_default(desk):
    assert retention_days(get_record_kind("posting.post")) == 2555


def test_the_purge_takes_an_old_withdrawn_draft_and_its_files_never_a_held_or_live_post(
    desk, old_posts, django_capture_on_commit_callbacks
):
    withdrawn, held, published, hold = old_posts
    files = [
        PostPhoto.objects.get(post=withdrawn).original,
        PostPhoto.objects.get(post=withdrawn).cleaned,
    ]
    held_photo = PostPhoto.objects.get(post=held)
    assert all(f.storage.exists(f.name) for f in files)
    expired = get_record_kind("posting.post").expired(timezone.now() - timedelta(days=2555), 0, 10)
    assert sorted(c.record_id for c in expired) == sorted([withdrawn.pk, held.pk])

    with django_capture_on_commit_callbacks(execute=True):
        reports = purge_expired_records(agency_id=desk.agency.pk)

    report = next(r for r in reports if r.kind == "posting.post")
    assert report.purged == 1 and report.held == {held.pk: [hold.pk]}
    assert set(Post.objects.values_list("pk", flat=True)) == {held.pk, published.pk}
    assert not PostRevision.objects.filter(post_id=withdrawn.pk).exists()
    assert not any(f.storage.exists(f.name) for f in files)  # the photo files are gone
    assert held_photo.original.storage.exists(held_photo.original.name)  # the held one's stay
    refused = AuditEvent.objects.get(action=Action.PURGE_REFUSED)
    assert refused.details["kind"] == "posting.post" and refused.details["records"] == [held.pk]
    purged = AuditEvent.objects.get(action=Action.RECORDS_PURGED)
    assert purged.details == {
        "kind": "posting.post", "purged": 1, "cutoff": purged.details["cutoff"],
        "kept_under_hold": 1,
    }  # fmt: skip
    assert verify_chain(desk.agency.pk).ok


def test_a_purge_by_hand_of_a_live_post_is_refused_and_changes_nothing(desk, old_posts):
    _withdrawn, _held, published, _hold = old_posts
    with pytest.raises(RetentionError, match="on a platform or on their way"):
        purge_records(actor=desk.admin, kind_name="posting.post", record_ids=[published.pk])
    assert Post.objects.filter(pk=published.pk).exists()
    assert not AuditEvent.objects.filter(action=Action.RECORDS_PURGED).exists()


def test_a_hold_on_any_channel_of_a_post_holds_it(desk, old_posts):
    withdrawn, *_ = old_posts
    Publication.objects.create(agency=desk.agency, post=withdrawn, channel=desk.mastodon,
                               status=Publication.Status.CANCELLED,
                               updated_at=timezone.now() - EIGHT_YEARS_AGO)  # fmt: skip
    place_hold(member=desk.admin, reason="Complaint 7", channel_id=desk.mastodon.pk)
    reports = purge_expired_records(agency_id=desk.agency.pk)
    report = next(r for r in reports if r.kind == "posting.post")
    assert report.purged == 0 and withdrawn.pk in report.held
    assert Post.objects.filter(pk=withdrawn.pk).exists()


def test_a_searched_package_holds_every_revision_and_the_photo_as_sent(desk, settings, tmp_path):
    import hashlib
    import json
    import subprocess
    import sys
    import zipfile

    from audit.exports import services as exports
    from audit.exports import verify

    settings.MEDIA_ROOT = tmp_path / "media"
    settings.SMC_EXPORT_DIR = str(tmp_path / "exports")
    photo = PhotoUpload(upload(jpeg_with_gps()), uuid.uuid4().hex)
    changes = DraftChanges(text="Road closed on Elm St until 5 pm.", channels=[desk.x])
    post = save_draft(author=desk.officer, client_key=uuid.uuid4(), changes=changes,
                      photos=[photo])  # fmt: skip
    post = submit_post(author=desk.officer, post=post)
    edit_as_supervisor(supervisor=desk.sergeant, post=post, text="Road closed on Maple Avenue.")
    asked = exports.request_export(auditor=desk.auditor, filters={"text": "Elm"}, format="package")
    made = exports.make_export(export_id=asked.pk)
    assert made.status == "ready", made.error
    path = exports.export_path(made)
    with zipfile.ZipFile(path) as archive:
        rows = [json.loads(x) for x in archive.read("records/posts.jsonl").splitlines()]
        media = [n for n in archive.namelist() if n.startswith("media/posts/")]
        sent = archive.read(media[0])
    assert [(r["post_id"], r["text"]) for r in rows] == [
        (post.pk, "Road closed on Elm St until 5 pm."),
        (post.pk, "Road closed on Maple Avenue."),
    ]
    assert len(media) == 1 and media[0].endswith(".jpg")
    assert hashlib.sha256(sent).hexdigest() == PostPhoto.objects.get(post=post).cleaned_sha256
    checked = subprocess.run(
        [sys.executable, "-I", str(verify.__file__), str(path)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert checked.returncode == 0, checked.stdout + checked.stderr
