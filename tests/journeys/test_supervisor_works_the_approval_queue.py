"""P2 journey, at a desk: a supervisor works the approval queue from the keyboard alone:
j/k to move, Enter to open, a to approve, r to type a reason and send a post back."""

import pytest
from playwright.sync_api import Page, expect

from accounts.authority import set_unit_supervisors
from accounts.models import Role
from platforms.services import set_channel_people
from posting.models import Post
from posting.services.approval import submit_post
from smc.tenancy import agency_scope
from tests.factories import make_agency, make_channel, make_member, make_post, make_unit

pytestmark = pytest.mark.browser
PASSWORD = "Correct-Horse-Battery-9"


def sign_in(page: Page, username: str) -> None:
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    expect(page.get_by_test_id("active-agency")).to_have_text("Metro Police")


def test_a_supervisor_approves_and_sends_back_from_the_keyboard(desk: Page):
    agency = make_agency(name="Metro Police", slug="metro")
    admin = make_member(agency, role=Role.ADMINISTRATOR, username="alex", password=PASSWORD)
    patrol = make_unit(agency, name="Patrol")
    sergeant = make_member(agency, role=Role.SUPERVISOR, username="sergeant", unit=patrol,
                           password=PASSWORD)  # fmt: skip
    officer = make_member(agency, username="officer", unit=patrol)
    channel = make_channel(agency, name="Metro on X", administrator=admin)
    with agency_scope(agency):
        set_unit_supervisors(administrator=admin, unit=patrol, memberships=[sergeant])
        set_channel_people(administrator=admin, channel=channel, memberships=[officer])
        first = submit_post(
            author=officer,
            post=make_post(officer, channels=[channel], text="Elm St closed until 5 pm."),
        )
        second = submit_post(
            author=officer,
            post=make_post(officer, channels=[channel], text="Lost dog near the park."),
        )
    sign_in(desk, "sergeant")
    desk.goto("/posts/approvals/")
    rows = desk.locator("[data-approval]")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_be_focused()  # longest waiting first, ready for keys

    desk.keyboard.press("j")
    expect(rows.nth(1)).to_be_focused()
    desk.keyboard.press("k")
    expect(rows.nth(0)).to_be_focused()
    desk.keyboard.press("Enter")  # opens the post
    expect(desk).to_have_url(f"{desk.url.split('/posts/')[0]}/posts/{first.pk}/review/")
    desk.go_back()

    expect(rows.nth(0)).to_be_focused()
    desk.keyboard.press("a")
    expect(desk.locator(".message-success")).to_contain_text("Approved")
    expect(rows).to_have_count(1)

    desk.keyboard.press("r")
    reason = desk.locator(f"#reason-{second.pk}")
    expect(reason).to_be_focused()
    desk.keyboard.type("Say which park.")
    desk.keyboard.press("Enter")
    expect(desk.locator(".message-success")).to_contain_text("Sent back")
    expect(desk.get_by_text("Nothing waits for your approval.")).to_be_visible()

    with agency_scope(agency):
        first.refresh_from_db()
        second.refresh_from_db()
    assert first.status == Post.Status.SCHEDULED and first.approved_by_id == sergeant.pk
    assert (second.status, second.rejection_reason) == (Post.Status.REJECTED, "Say which park.")
