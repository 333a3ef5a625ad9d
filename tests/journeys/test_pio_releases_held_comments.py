"""M4 journey, at a desk: with hold mode on, new comments are hidden on the platform and
held; the PIO releases one with the keyboard, two more in bulk, keeps one hidden with the
keyboard, and the platform (the simulator) shows the released ones again."""

import re

import pytest
from playwright.sync_api import Page, expect

from accounts.models import Role
from moderation import ingest, policies
from moderation.models import Hold
from smc.tenancy import agency_scope
from tests.conftest import simulator_settings, wait_for
from tests.factories import make_agency, make_member
from tests.moderation.test_actions import comment, connect, on_platform

pytestmark = pytest.mark.browser
PASSWORD = "Correct-Horse-Battery-9"
TEXTS = ["Is Main St open yet?", "Thank you, crew!", "Where is the detour?", "Great work today"]


@pytest.fixture
def worker_environment(simulated_platforms):
    return simulator_settings(simulated_platforms)


def test_a_pio_releases_held_comments_with_the_keyboard_and_in_bulk(
    desk: Page, simulated_platforms, celery_worker
):
    agency = make_agency(name="Metro Police", slug="metro")
    pio = make_member(agency, role=Role.SUPERVISOR, username="pio", password=PASSWORD)
    with agency_scope(agency):
        page = connect(agency, simulated_platforms)
        policies.set_hold_switch(editor=pio, on=True)
        for text in TEXTS:
            comment(page, text)
        ingest.poll_channel(channel=page)  # the worker holds and hides them
    wait_for(lambda: all(on_platform(page)[t]["hidden"] for t in TEXTS),
             what="the held comments hidden on Facebook", process=celery_worker)  # fmt: skip

    desk.goto("/login/")
    desk.get_by_label("Username").fill("pio")
    desk.get_by_label("Password").fill(PASSWORD)
    desk.get_by_role("button", name="Sign In").click()
    expect(desk.get_by_test_id("active-agency")).to_have_text("Metro Police")
    desk.locator("nav.sidebar").get_by_role("link", name="Held comments").click()
    rows = desk.locator("tr[data-hold]")
    expect(rows).to_have_count(4)

    def text_of(row) -> str:
        return row.get_by_test_id("comment-text").inner_text()

    def keyboard_ready():
        # The queue's script marks the first row current once it listens: a key pressed
        # before that would reach a page without shortcuts.
        expect(rows.nth(0)).to_have_class(re.compile(r"\bcurrent\b"))

    # The keyboard: the first row is current; r releases it.
    first = text_of(rows.nth(0))
    keyboard_ready()
    desk.keyboard.press("r")
    expect(desk.locator(".message-success")).to_contain_text("1 comment released.")
    expect(rows).to_have_count(3)

    # x selects, j moves down: two selected, released with the bulk button.
    bulk = [text_of(rows.nth(0)), text_of(rows.nth(1))]
    keyboard_ready()
    desk.keyboard.press("x")
    desk.keyboard.press("j")
    desk.keyboard.press("x")
    expect(rows.nth(0).locator("input[name=hold]")).to_be_checked()
    expect(rows.nth(1).locator("input[name=hold]")).to_be_checked()
    desk.get_by_role("button", name="Release selected").click()
    expect(desk.locator(".message-success")).to_contain_text("2 comments released.")

    # The last one: h keeps it hidden.
    [kept] = [t for t in TEXTS if t not in (first, *bulk)]
    expect(rows).to_have_count(1)
    keyboard_ready()
    desk.keyboard.press("h")
    expect(desk.locator(".message-success")).to_contain_text("1 comment kept hidden.")
    expect(desk.get_by_test_id("queue-empty")).to_be_visible()

    released = [first, *bulk]
    wait_for(lambda: not any(on_platform(page)[t]["hidden"] for t in released),
             what="the released comments shown on Facebook", process=celery_worker)  # fmt: skip
    assert on_platform(page)[kept]["hidden"] is True
    with agency_scope(agency):
        decided = dict(Hold.objects.values_list("comment__text", "state"))
        assert decided == {**dict.fromkeys(released, "released"), kept: "kept_hidden"}
        assert set(Hold.objects.values_list("decided_by__user__username", flat=True)) == {"pio"}
