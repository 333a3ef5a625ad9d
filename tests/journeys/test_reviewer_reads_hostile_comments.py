"""Untrusted text, in a real browser: XSS payloads written as public comments on the
simulated platforms, ingested through the real poll path, and read by a supervisor on the
comment pages. Nothing executes (no dialog, no flag set on window), nothing active reaches
the page's DOM, invisible characters are shown, and every HTML response carries a CSP."""

import pytest
from playwright.sync_api import Page, expect

from accounts.models import Role
from moderation import ingest
from moderation.models import Comment
from platforms.adapters.base import OutgoingPost
from platforms.demo import connect_through_simulator
from platforms.services import call_platform
from smc.tenancy import agency_scope
from tests.factories import make_agency, make_member
from tests.platforms.contract import SimClient

pytestmark = pytest.mark.browser
PASSWORD = "Correct-Horse-Battery-9"

# Each tries both ways to run script: alert() (a dialog) and a flag on window.
PAYLOADS = [
    "<script>alert('script');window.__xss='script'</script>",
    "<img src=x onerror=\"alert('img');window.__xss='img'\">",
    "<a href=\"javascript:alert('link');window.__xss='link'\">click for the report</a>",
    "<noscript><p title=\"</noscript><img src=x onerror=alert('mxss')>\">",
    "<svg><style><img src=x onerror=\"alert('svg');window.__xss='svg'\"></style></svg>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert('math')></style></table>",
    "\"><script>alert('attr')</script>",
    "</textarea><iframe srcdoc=\"<script>parent.alert('iframe')</script>\"></iframe>",
]
INVISIBLE = "bull\u200bsh\u202eit"  # a zero-width space and a right-to-left override


def connect(agency, admin, platform, url, handle):
    [channel], _ = connect_through_simulator(
        administrator=admin, platform=platform, sim_url=url, display_name="Metro Police",
        handle=handle,
    )  # fmt: skip
    post_id = call_platform(channel, lambda a: a.publish(OutgoingPost(text="Road closed")))
    return channel, post_id.platform_post_id


def comment(url, post_id, **fields):
    payload = {"target": post_id, "author": {"name": "<img src=x onerror=alert('author')>",
                                             "handle": "hostile"}, **fields}  # fmt: skip
    SimClient(url).post("/_sim/inject", payload, expect=201)


def sign_in(page: Page, username: str) -> None:
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    expect(page.get_by_test_id("active-agency")).to_have_text("Metro Police")


def test_hostile_comments_are_shown_inert_to_a_reviewer(desk: Page, simulated_platforms):
    agency = make_agency(name="Metro Police", slug="metro")
    admin = make_member(agency, role=Role.ADMINISTRATOR, username="alex", password=PASSWORD)
    make_member(agency, role=Role.SUPERVISOR, username="sam", password=PASSWORD)
    with agency_scope(agency):
        page_channel, fb_post = connect(agency, admin, "facebook",
                                        simulated_platforms["facebook"], "metro")  # fmt: skip
        toot_channel, toot = connect(agency, admin, "mastodon",
                                     simulated_platforms["mastodon"], "metropd")  # fmt: skip
    for payload in PAYLOADS:
        comment(simulated_platforms["facebook"], fb_post, text=payload)
        # Mastodon sends HTML: once as a hostile server's raw HTML, once escaped text.
        comment(simulated_platforms["mastodon"], toot, text="see this", html=payload)
    comment(simulated_platforms["facebook"], fb_post, text=INVISIBLE)
    with agency_scope(agency):
        for channel in (page_channel, toot_channel):
            assert ingest.poll_channel(channel=channel).archived.created > 0
        comments = list(Comment.objects.order_by("pk"))
    assert len(comments) == 2 * len(PAYLOADS) + 1

    dialogs, html_responses = [], []
    desk.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    desk.on("response", lambda r: html_responses.append(r)
            if "text/html" in (r.headers.get("content-type") or "") else None)  # fmt: skip
    sign_in(desk, "sam")

    desk.goto("/moderation/comments/")
    expect(desk.get_by_test_id("comment-row")).to_have_count(len(comments))
    assert_inert(desk, dialogs)
    for archived in comments:
        desk.goto(f"/moderation/comments/{archived.pk}/")
        expect(desk.get_by_test_id("version")).to_have_count(1)
        for details in desk.locator("main details").all():
            details.locator("summary").click()  # show the sanitized platform HTML
        assert_inert(desk, dialogs)
    # The raw payload is shown as text to the reviewer, not swallowed.
    [script] = [c for c in comments if c.text == PAYLOADS[0]]
    desk.goto(f"/moderation/comments/{script.pk}/")
    expect(desk.get_by_test_id("version-text")).to_contain_text("<script>alert('script')")

    [invisible] = [c for c in comments if c.text == INVISIBLE]
    desk.goto(f"/moderation/comments/{invisible.pk}/")
    shown = desk.get_by_test_id("version-text").locator(".invisible-char")
    expect(shown).to_have_text(["⟦U+200B⟧", "⟦U+202E⟧"])
    expect(shown.first).to_have_attribute("title", "Zero Width Space (U+200B)")

    assert html_responses
    for response in html_responses:
        csp = response.headers.get("content-security-policy", "")
        assert "script-src" in csp and "unsafe-inline" not in csp, response.url


def assert_inert(page: Page, dialogs: list) -> None:
    page.wait_for_load_state("load")
    assert dialogs == []
    assert page.evaluate("window.__xss") is None
    active = "main script, main img, main iframe, main svg, main math, main noscript, " \
             "main [onerror], main a[href^='javascript:' i]"  # fmt: skip
    assert page.locator(active).count() == 0, page.locator(active).first.evaluate(
        "e => e.outerHTML"
    )
