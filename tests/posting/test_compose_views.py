"""The compose pages (P1, P5): permissions, tenancy, bad input through the real form,
retries over a poor connection, the protected photo view."""

import uuid
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from audit.actions import Action
from audit.models import AuditEvent
from posting.models import Post, PostPhoto
from smc.tenancy import agency_scope
from tests.factories import make_channel, make_member, make_post
from tests.posting.compose_helpers import gps_of, jpeg_with_gps, media, newsroom

__all__ = ["media", "newsroom"]  # fixtures


def form(newsroom, **fields):
    data = {"client_key": str(uuid.uuid4()), "upload_key": uuid.uuid4().hex,
            "text": "Road closed on Elm St until 5 pm.", "location": "Elm St",
            "when": "now", "channels": [newsroom.x.pk, newsroom.bluesky.pk],
            "action": "save"}  # fmt: skip
    data.update(fields)
    return data


def photo_file(data=None, name="IMG_0001.jpg"):
    return SimpleUploadedFile(name, data or jpeg_with_gps(), content_type="image/jpeg")


def nothing_stored(media):
    return Post.objects.count() == 0 and not any(p.is_file() for p in media.rglob("*"))


@pytest.fixture
def officer_client(client, newsroom):
    client.force_login(newsroom.officer.user)
    return client


def test_the_compose_page_offers_only_the_authors_channels(officer_client, newsroom):
    page = officer_client.get(reverse("posting:compose")).content.decode()
    assert "Metro on X" in page and "Metro on Bluesky" in page
    assert "Chief&#x27;s own X" not in page and "Chief's own X" not in page
    assert 'name="client_key"' in page and 'name="upload_key"' in page


def test_save_with_a_photo_then_a_retry_changes_nothing_twice(officer_client, newsroom):
    data = form(newsroom, photos=photo_file())
    response = officer_client.post(reverse("posting:compose"), data)
    post = Post.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("posting:post_detail", args=[post.pk])
    # The same form sent again (a retry over a poor connection): same draft, same photo.
    data["photos"] = photo_file()
    officer_client.post(reverse("posting:compose"), data)
    assert Post.objects.count() == 1 and PostPhoto.objects.count() == 1
    photo = PostPhoto.objects.get()
    served = officer_client.get(reverse("posting:photo", args=[photo.pk]))
    body = b"".join(served.streaming_content)
    assert served["Content-Type"] == "image/jpeg" and gps_of(body) == {}
    detail = officer_client.get(reverse("posting:post_detail", args=[post.pk])).content.decode()
    assert "Road closed on Elm St" in detail and reverse("posting:photo", args=[photo.pk]) in detail
    assert "Metro on X" in detail and "Waiting" in detail


def test_the_schedule_is_read_and_shown_in_the_agency_time(officer_client, newsroom):
    newsroom.agency.time_zone = "America/Chicago"
    newsroom.agency.save()
    local = (timezone.now() + timedelta(days=2)).astimezone(ZoneInfo("America/Chicago"))
    typed = local.strftime("%Y-%m-%dT%H:%M")
    officer_client.post(reverse("posting:compose"),
                        form(newsroom, when="later", publish_at=typed))  # fmt: skip
    post = Post.objects.get()
    assert post.publish_at.utcoffset() == timedelta(0)  # stored in UTC
    assert post.publish_at.astimezone(ZoneInfo("America/Chicago")).strftime(
        "%Y-%m-%dT%H:%M") == typed  # fmt: skip
    detail = officer_client.get(reverse("posting:post_detail", args=[post.pk])).content.decode()
    assert local.strftime("%Y-%m-%d %H:%M") in detail and "America/Chicago" in detail


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"text": "x" * 281}, "Too long for Metro on X: 281 of 280"),
        ({"when": "later", "publish_at": "2020-01-01T09:00"}, "That time has already passed"),
        ({"photos": "not-a-photo"}, "“notes.jpg” is not a photo SMC can use"),
        ({"channels": "closed"}, "One of the chosen channels is not one you may post to"),
        ({"channels": "other_agency"}, "One of the chosen channels is not one you may post to"),
    ],
)
def test_bad_input_gets_a_clear_message_and_changes_nothing(
    officer_client, newsroom, media, other_agency, fields, message
):
    if fields.get("photos") == "not-a-photo":
        fields["photos"] = photo_file(b"just some text, not pixels", name="notes.jpg")
    if fields.get("channels") == "closed":
        fields["channels"] = [newsroom.x.pk, newsroom.closed.pk]
    if fields.get("channels") == "other_agency":
        fields["channels"] = [make_channel(other_agency, name="Riverside X").pk]
    events = AuditEvent.objects.count()
    data = form(newsroom, **fields)
    response = officer_client.post(reverse("posting:compose"), data)
    assert response.status_code == 400
    page = response.content.decode()
    assert message in page.replace("&#x27;", "'")
    assert data["text"] in page  # what the author typed is still there
    assert nothing_stored(media)
    assert AuditEvent.objects.count() == events


def test_a_50_mb_image_is_refused_while_it_streams_in(officer_client, newsroom, media):
    huge = photo_file(jpeg_with_gps() + b"\0" * (50 * 1024 * 1024), name="huge.jpg")
    response = officer_client.post(reverse("posting:compose"), form(newsroom, photos=huge))
    assert response.status_code == 400
    assert "“huge.jpg” is larger than 15 MB" in response.content.decode()
    assert nothing_stored(media)


def test_autosave_makes_the_draft_once_and_answers_with_counts_and_checks(officer_client,
                                                                          newsroom):  # fmt: skip
    data = form(newsroom, text="Call me on my cell 555-310-4455")
    data.pop("action")
    url = reverse("posting:autosave")
    first = officer_client.post(url, data, HTTP_HX_REQUEST="true")
    second = officer_client.post(url, data, HTTP_HX_REQUEST="true")
    post = Post.objects.get()
    assert first["HX-Replace-Url"] == reverse("posting:compose_edit", args=[post.pk])
    page = second.content.decode()
    assert "31 / 280" in page and "31 / 300" in page
    assert "looks like a private phone" in page and "Draft saved at" in page
    assert post.check_results and not all(r["ok"] for r in post.check_results)
    # Too long: not saved, and the author is told, with the count.
    data["text"] = "y" * 300
    page = officer_client.post(url, data, HTTP_HX_REQUEST="true").content.decode()
    assert "Not saved:" in page and "300 / 280" in page
    assert Post.objects.get().text == "Call me on my cell 555-310-4455"


def test_an_empty_autosave_makes_no_draft(officer_client, newsroom):
    data = form(newsroom, text="", location="", channels=[])
    officer_client.post(reverse("posting:autosave"), data, HTTP_HX_REQUEST="true")
    assert Post.objects.count() == 0


def test_photo_upload_is_idempotent_on_its_upload_key(officer_client, newsroom):
    key = str(uuid.uuid4())
    url = reverse("posting:photo_upload")
    for _ in range(2):
        response = officer_client.post(url, {"client_key": key, "upload_key": "abcdef-123456",
                                             "photo": photo_file()})  # fmt: skip
        assert response.status_code == 200
    assert PostPhoto.objects.count() == 1
    post = Post.objects.get()
    assert response["X-Post-Url"] == reverse("posting:compose_edit", args=[post.pk])
    bad = officer_client.post(url, {"client_key": key, "upload_key": "abcdef-999999",
                                    "photo": photo_file(b"GIF89a nope", name="x.gif")})  # fmt: skip
    assert bad.status_code == 400 and "is not a photo SMC can use" in bad.content.decode()
    assert PostPhoto.objects.count() == 1


def test_who_sees_a_post_and_its_photos(client, newsroom):
    officer = newsroom.officer
    colleague = make_member(newsroom.agency, username="colleague")
    supervisor = make_member(newsroom.agency, role=Role.SUPERVISOR, username="pio")
    auditor = make_member(newsroom.agency, role=Role.AUDITOR, username="audrey")
    client.force_login(officer.user)
    client.post(reverse("posting:compose"), form(newsroom, photos=photo_file()))
    post, photo = Post.objects.get(), PostPhoto.objects.get()
    detail = reverse("posting:post_detail", args=[post.pk])
    original = reverse("posting:photo_original", args=[photo.pk])
    for member, page, photo_status, original_status in (
        (officer, 200, 200, 200), (colleague, 404, 404, 404),
        (supervisor, 200, 200, 404), (auditor, 200, 200, 200),
    ):  # fmt: skip
        client.force_login(member.user)
        assert client.get(detail).status_code == page, member
        assert client.get(reverse("posting:photo", args=[photo.pk])).status_code == photo_status
        assert client.get(original).status_code == original_status, member
    # Only its author edits it; auditors write nothing.
    client.force_login(supervisor.user)
    assert client.get(reverse("posting:compose_edit", args=[post.pk])).status_code == 404
    client.force_login(auditor.user)
    assert client.get(reverse("posting:compose")).status_code == 403


def test_the_original_is_the_upload_as_received(client, newsroom):
    sent = jpeg_with_gps()
    client.force_login(newsroom.officer.user)
    client.post(reverse("posting:compose"), form(newsroom, photos=photo_file(sent)))
    photo = PostPhoto.objects.get()
    response = client.get(reverse("posting:photo_original", args=[photo.pk]))
    assert b"".join(response.streaming_content) == sent
    assert response["Content-Disposition"].startswith("attachment")


def test_submit_sends_the_draft_and_records_it(officer_client, newsroom):
    officer_client.post(reverse("posting:compose"), form(newsroom, action="submit"))
    post = Post.objects.get()
    assert post.status == Post.Status.AWAITING_APPROVAL
    assert AuditEvent.objects.filter(action=Action.POST_SUBMITTED).count() == 1
    # A sent post is no longer the author's to edit here.
    response = officer_client.get(reverse("posting:compose_edit", args=[post.pk]))
    assert response.status_code == 302


def test_my_posts_lists_only_mine(officer_client, newsroom):
    colleague = make_member(newsroom.agency, username="colleague")
    make_post(newsroom.officer, text="Mine: road closed")
    make_post(colleague, text="Theirs: lost dog")
    page = officer_client.get(reverse("posting:post_list")).content.decode()
    assert "Mine: road closed" in page and "Theirs: lost dog" not in page


def test_withdraw_through_the_page(officer_client, newsroom):
    post = make_post(newsroom.officer, channels=[newsroom.x])
    officer_client.post(reverse("posting:withdraw", args=[post.pk]))
    with agency_scope(newsroom.agency):
        assert Post.objects.get(pk=post.pk).status == Post.Status.WITHDRAWN


def test_new_post_is_one_tap_away_for_authors_not_auditors(client, newsroom):
    auditor = make_member(newsroom.agency, role=Role.AUDITOR, username="audrey")
    client.force_login(newsroom.officer.user)
    assert 'data-testid="new-post"' in client.get(reverse("home")).content.decode()
    client.force_login(auditor.user)
    assert 'data-testid="new-post"' not in client.get(reverse("home")).content.decode()


def test_a_forged_photo_description_id_changes_nothing(officer_client, newsroom):
    officer_client.post(reverse("posting:compose"), form(newsroom, photos=photo_file()))
    post, photo = Post.objects.get(), PostPhoto.objects.get()
    alts = {f"alt_{photo.pk}": "A closed road", "alt_99999999999999999999999": "x", "alt_1x": "y"}
    data = form(newsroom, client_key=str(post.client_key), **alts)
    response = officer_client.post(reverse("posting:compose_edit", args=[post.pk]), data)
    assert response.status_code == 302
    assert PostPhoto.objects.get().alt_text == "A closed road"
