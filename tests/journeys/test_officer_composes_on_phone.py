"""P1/P5 journey, on a phone with one thumb: an officer writes a post for two channels,
sees each platform's live count and the checks while typing, adds a photo (sent at once,
its location data removed), the draft saves itself, and the officer saves it.

Stable hooks for the full officer → PIO → published journey: the "New post" button
(data-testid=new-post), the labelled text box "Post text", channel checkboxes by name,
data-testid=count-<platform>, checks, save-state, photos; "Save draft" and "Send for
publishing" buttons; on the post page, post-status and publications.
"""

import io
import re

import pytest
from PIL import Image
from playwright.sync_api import Page, expect

from accounts.models import Role
from audit.actions import Action
from audit.models import AuditEvent
from platforms.services import set_channel_people
from posting.models import Post, PostPhoto
from smc.tenancy import agency_scope
from tests.factories import make_agency, make_channel, make_member
from tests.journeys.test_officer_enrols_totp_on_phone import (
    assert_fits_phone,
    sign_in_with_password,
    snap,
    tap,
)
from tests.posting.compose_helpers import gps_of, jpeg_with_gps

pytestmark = pytest.mark.browser


def test_officer_writes_a_post_with_a_photo_for_two_channels(phone: Page, password, settings,
                                                             tmp_path):  # fmt: skip
    settings.MEDIA_ROOT = tmp_path / "media"
    agency = make_agency(name="Metro Police", slug="metro", website="https://metro.example")
    admin = make_member(agency, role=Role.ADMINISTRATOR, username="chief")
    officer = make_member(agency, username="officer", password=password)
    x = make_channel(agency, platform="x", name="Metro on X", administrator=admin)
    bluesky = make_channel(agency, platform="bluesky", name="Metro on Bluesky",
                           administrator=admin)  # fmt: skip
    with agency_scope(agency):
        for channel in (x, bluesky):
            set_channel_people(administrator=admin, channel=channel, memberships=[officer])
    page = phone

    sign_in_with_password(page, "officer", password)
    tap(page.get_by_test_id("new-post"))
    expect(page.get_by_role("heading", name="New post")).to_be_visible()
    assert_fits_phone(page)

    text = page.get_by_label("Post text")
    text.tap()
    text.fill("Crash on Elm St. Witness, call me on my cell 555-310-4455")
    # The whole row is the target, not the small box.
    tap(page.locator("label.choice").filter(has_text="Metro on X"))
    tap(page.locator("label.choice").filter(has_text="Metro on Bluesky"))
    expect(page.get_by_label("Metro on X")).to_be_checked()

    # Live: each platform's own count, and the checks, while the officer types.
    expect(page.get_by_test_id("count-x")).to_contain_text("57 / 280")
    expect(page.get_by_test_id("count-bluesky")).to_contain_text("57 / 300")
    expect(page.get_by_test_id("checks")).to_contain_text("looks like a private phone")
    expect(page.get_by_test_id("save-state")).to_contain_text("Draft saved at")
    snap(page, "compose-live-checks")
    with agency_scope(agency):
        draft = Post.objects.get()
        assert draft.text.endswith("555-310-4455") and draft.status == Post.Status.DRAFT
        assert set(draft.publications.values_list("channel_id", flat=True)) == {x.pk, bluesky.pk}
    # The new draft's page address is now its own, so a reload keeps working on it.
    expect(page).to_have_url(re.compile(rf"/posts/{draft.pk}/edit/$"))

    # A photo, sent as soon as it is chosen.
    sent = jpeg_with_gps(size=(64, 48))
    page.locator("input[name=photos]").set_input_files(
        {"name": "IMG_2041.jpg", "mimeType": "image/jpeg", "buffer": sent}
    )
    expect(page.get_by_test_id("photos").locator("img")).to_have_count(1)
    alt = page.get_by_label("Description (for people who cannot see it)")
    alt.fill("Two cars at the Elm St crossing")

    # The officer takes the phone number out: the checks clear and the count drops.
    text.fill("Crash on Elm St. Expect delays until 5 pm.")
    expect(page.get_by_test_id("count-x")).to_contain_text("42 / 280")
    expect(page.get_by_test_id("checks")).not_to_contain_text("private phone")
    expect(page.get_by_test_id("checks-need-approval")).to_have_count(0)
    assert_fits_phone(page)
    snap(page, "compose-ready")

    tap(page.get_by_role("button", name="Save draft"))
    expect(page.get_by_text("Draft saved.")).to_be_visible()
    expect(page.get_by_test_id("post-status")).to_have_text("Draft")
    expect(page.get_by_test_id("post-text")).to_contain_text("Expect delays until 5 pm.")
    expect(page.get_by_test_id("publications")).to_contain_text("Metro on X")
    expect(page.get_by_test_id("publications")).to_contain_text("Metro on Bluesky")
    expect(page.locator("img[alt='Two cars at the Elm St crossing']")).to_be_visible()
    assert_fits_phone(page)
    snap(page, "post-saved")

    with agency_scope(agency):
        post = Post.objects.get()
        assert post.text == "Crash on Elm St. Expect delays until 5 pm."
        assert all(result["ok"] for result in post.check_results)
        photo = PostPhoto.objects.get(post=post)
        cleaned = photo.cleaned.open("rb").read()
        assert gps_of(sent) and gps_of(cleaned) == {}
        with Image.open(io.BytesIO(cleaned)) as image:
            assert image.size == (64, 48) and len(image.getexif()) == 0
        assert photo.original.open("rb").read() == sent
        assert photo.alt_text == "Two cars at the Elm St crossing"
        actions = list(AuditEvent.objects.order_by("seq").values_list("action", flat=True))
    assert actions.count(Action.POST_DRAFTED) == 1
    assert actions.count(Action.POST_PHOTO_ADDED) == 1
    assert Action.POST_EDITED in actions  # the Save on purpose
