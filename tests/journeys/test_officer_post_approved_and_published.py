"""P1–P4 end to end, in two browsers: an officer on a phone writes a post with a photo
for two channels and sends it; it needs approval, so it waits on the PIO's queue; the
PIO approves it at a desk with the keyboard; a real Celery worker publishes it to the X
and Mastodon simulators; the photos those received carry no GPS; the officer's post
page shows "Published" with each platform's link.

Beat's schedule is not what is under test here (test_publishing_chaos.py runs a real
beat): the test thread calls beat's tick task itself, and the worker does the rest.
"""

import io

import pytest
import requests
from PIL import ExifTags, Image
from playwright.sync_api import Page, expect

from accounts.authority import set_member_needs_approval, set_unit_supervisors
from accounts.models import Role
from audit.actions import Action
from audit.models import AuditEvent
from platforms.services import set_channel_people
from posting.models import Post, Publication
from posting.tasks import publish_due_posts
from smc.tenancy import agency_scope
from tests.conftest import simulator_settings, wait_for
from tests.factories import make_agency, make_member, make_unit
from tests.journeys.test_officer_enrols_totp_on_phone import (
    assert_fits_phone,
    sign_in_with_password,
    snap,
    tap,
)
from tests.platforms.contract import SimClient
from tests.posting.compose_helpers import gps_of, jpeg_with_gps
from tests.posting.publishing_world import connect_channels

pytestmark = pytest.mark.browser

TEXT = "Elm St is open again after this morning's crash. Thank you for your patience."


@pytest.fixture
def worker_environment(simulated_platforms, settings, tmp_path):
    """The worker talks to these simulators and reads the photos the web server stored."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return {**simulator_settings(simulated_platforms), "SMC_MEDIA_ROOT": str(settings.MEDIA_ROOT)}


def exif_of(data: bytes) -> dict:
    with Image.open(io.BytesIO(data)) as image:
        return dict(image.getexif())


def photos_received(simulated_platforms, platform: str, item_id: str) -> list[bytes]:
    """The image bytes the platform stored for one of its posts."""
    simulator = simulated_platforms.simulators[platform]
    item = simulator.items[item_id]
    if platform == "x":
        keys = item.extra["media_keys"]
        return [simulator.media[key.removeprefix("3_")]["data"] for key in keys]
    # Mastodon serves each attachment at its own address, as an instance does.
    base = simulated_platforms[platform]
    served = []
    for media_id in item.extra["media_ids"]:
        answer = requests.get(f"{base}/system/media_attachments/files/{media_id}/original",
                              timeout=5)  # fmt: skip
        answer.raise_for_status()
        served.append(answer.content)
    return served


def test_officer_post_is_approved_at_the_desk_and_published_without_gps(
    phone: Page, desk: Page, simulated_platforms, celery_worker, password
):
    agency = make_agency(name="Metro Police", slug="metro", website="https://metro.example")
    admin = make_member(agency, role=Role.ADMINISTRATOR, username="chief")
    pio_office = make_unit(agency, name="Public Information Office")
    patrol = make_unit(agency, name="Patrol")
    pio = make_member(agency, role=Role.SUPERVISOR, username="pio", unit=pio_office,
                      password=password)  # fmt: skip
    officer = make_member(agency, username="officer", unit=patrol, password=password)
    x, mastodon = connect_channels(agency, simulated_platforms, ["x", "mastodon"],
                                   administrator=admin)  # fmt: skip
    with agency_scope(agency):
        set_unit_supervisors(administrator=admin, unit=patrol, memberships=[pio])
        set_member_needs_approval(administrator=admin, membership=officer, needs_approval=True)
        for channel in (x, mastodon):
            set_channel_people(administrator=admin, channel=channel, memberships=[officer])

    # --- The officer, on a phone ---
    sign_in_with_password(phone, "officer", password)
    tap(phone.get_by_test_id("new-post"))
    text = phone.get_by_label("Post text")
    text.tap()
    text.fill(TEXT)
    tap(phone.locator("label.choice").filter(has_text=x.name))
    tap(phone.locator("label.choice").filter(has_text=mastodon.name))
    expect(phone.get_by_test_id("count-x")).to_contain_text(f"{len(TEXT)} / 280")
    sent = jpeg_with_gps(size=(64, 48))
    assert gps_of(sent)  # the phone's photo does carry a position
    phone.locator("input[name=photos]").set_input_files(
        {"name": "IMG_2042.jpg", "mimeType": "image/jpeg", "buffer": sent}
    )
    expect(phone.get_by_test_id("photos").locator("img")).to_have_count(1)
    phone.get_by_label("Description (for people who cannot see it)").fill("Elm St, open")
    expect(phone.get_by_test_id("save-state")).to_contain_text("Draft saved at")
    assert_fits_phone(phone)
    tap(phone.get_by_role("button", name="Send for publishing"))
    expect(phone.get_by_text("Sent. You will see here")).to_be_visible()
    expect(phone.get_by_test_id("post-status")).to_have_text("Waiting for approval")
    with agency_scope(agency):
        post = Post.objects.get()
    assert post.status == Post.Status.AWAITING_APPROVAL and post.awaiting_unit_id == patrol.pk
    snap(phone, "published-journey-waiting")

    # --- The PIO, at a desk ---
    desk.goto("/login/")
    desk.get_by_label("Username").fill("pio")
    desk.get_by_label("Password").fill(password)
    desk.get_by_role("button", name="Sign In").click()
    expect(desk.get_by_test_id("active-agency")).to_have_text("Metro Police")
    desk.goto("/posts/approvals/")
    rows = desk.locator("[data-approval]")
    expect(rows).to_have_count(1)
    expect(rows.nth(0)).to_contain_text(TEXT)
    expect(rows.nth(0)).to_contain_text("1 photo")
    expect(rows.nth(0)).to_be_focused()
    desk.keyboard.press("a")
    expect(desk.locator(".message-success")).to_contain_text("Approved")
    expect(desk.get_by_text("Nothing waits for your approval.")).to_be_visible()

    # --- Beat's tick hands the due publications to the real worker ---
    def published() -> bool:
        publish_due_posts()
        with agency_scope(agency):
            return Post.objects.get(pk=post.pk).status == Post.Status.PUBLISHED

    wait_for(published, what="the worker to publish the post on both channels",
             process=celery_worker)  # fmt: skip

    # --- What the platforms have ---
    with agency_scope(agency):
        rows = {p.channel.platform: p for p in Publication.objects.filter(post=post)
                .select_related("channel")}  # fmt: skip
    assert set(rows) == {"x", "mastodon"}
    for platform, publication in rows.items():
        assert publication.status == Publication.Status.PUBLISHED
        items = [i for i in SimClient(simulated_platforms[platform]).published()["items"]
                 if i["text"] == TEXT and not i["deleted"]]  # fmt: skip
        assert [i["id"] for i in items] == [publication.platform_post_id], platform
        [photo] = photos_received(simulated_platforms, platform, publication.platform_post_id)
        with Image.open(io.BytesIO(photo)) as image:
            assert image.size == (64, 48), platform
        assert gps_of(photo) == {} and ExifTags.Base.Make not in exif_of(photo), platform

    # --- The officer sees it published, with the links ---
    phone.reload()
    expect(phone.get_by_test_id("post-status")).to_have_text("Published")
    channels = phone.get_by_test_id("publications")
    links = channels.get_by_role("link", name="See it on the platform")
    expect(links).to_have_count(2)
    hrefs = {links.nth(n).get_attribute("href") for n in range(2)}
    assert hrefs == {p.url for p in rows.values()} and all(h.startswith("http") for h in hrefs)
    assert_fits_phone(phone)
    snap(phone, "published-journey-done")

    with agency_scope(agency):
        actions = list(AuditEvent.objects.order_by("seq").values_list("action", flat=True))
    for action in (Action.POST_SUBMITTED, Action.POST_APPROVED, Action.POST_SCHEDULED):
        assert actions.count(action) == 1, action
    assert actions.count(Action.PUBLICATION_PUBLISHED) == 2
