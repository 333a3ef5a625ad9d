"""C1 journey, at a desk: an administrator connects one channel of each kind through
each platform's own flow (the simulators play the platforms), and a declined consent
is explained and stores nothing."""

import pytest
import requests
from playwright.sync_api import Page, expect

from accounts.models import Role
from audit.actions import Action
from audit.models import AuditEvent
from platforms.models import Channel
from platforms.simulators import PLATFORMS
from smc.tenancy import agency_scope
from tests.factories import make_agency, make_member

pytestmark = pytest.mark.browser
PASSWORD = "Correct-Horse-Battery-9"


@pytest.fixture
def platforms_online(simulated_platforms, settings, live_server):
    """The five simulators, SMC pointed at them, and the platforms sending the browser
    back to the live server after consent."""
    settings.SMC_BASE_URL = live_server.url
    return simulated_platforms


def seed(url: str, handle: str, **extra) -> dict:
    fields = {"handle": handle, "display_name": f"Metro Police {handle}", "bio": "Official.",
              "website": "https://police.metro.example", **extra}  # fmt: skip
    response = requests.post(f"{url}/_sim/accounts", json=fields, timeout=10)
    response.raise_for_status()
    return response.json()


def sign_in(page: Page, username: str) -> None:
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    expect(page.get_by_test_id("active-agency")).to_have_text("Metro Police")


def test_an_administrator_connects_one_channel_of_each_kind(desk: Page, platforms_online):
    agency = make_agency(name="Metro Police", slug="metro")
    make_member(agency, role=Role.ADMINISTRATOR, username="alex", password=PASSWORD)
    sign_in(desk, "alex")

    for platform, button in (("facebook", "Connect a Facebook Page"),
                             ("x", "Connect an X account"),
                             ("youtube", "Connect a YouTube channel")):  # fmt: skip
        seed(platforms_online[platform], f"metro-{platform}")
        desk.goto("/channels/connect/")
        desk.get_by_role("link", name=button).click()  # to the platform and back
        expect(desk.locator(".message-success")).to_contain_text("is connected.")

    seed(platforms_online["mastodon"], "metro-mastodon")
    desk.goto("/channels/connect/")
    desk.get_by_label("Mastodon instance").fill(platforms_online["mastodon"])
    desk.get_by_role("button", name="Continue").click()
    desk.get_by_role("link", name="Continue to").click()
    expect(desk.locator(".message-success")).to_contain_text("is connected.")

    seed(platforms_online["bluesky"], "metro.bsky.example", app_password="abcd-efgh-ijkl-mnop")
    desk.goto("/channels/connect/")
    desk.get_by_label("Bluesky handle").fill("metro.bsky.example")
    desk.get_by_label("App password").fill("abcd-efgh-ijkl-mnop")
    desk.get_by_role("button", name="Connect a Bluesky account").click()
    expect(desk.locator(".message-success")).to_contain_text("is connected.")

    desk.goto("/channels/")
    expect(desk.locator(".count")).to_have_text("5 channels")
    with agency_scope(agency):
        assert sorted(Channel.objects.values_list("platform", flat=True)) == sorted(PLATFORMS)
        assert AuditEvent.objects.filter(action=Action.CHANNEL_CONNECTED).count() == 5


def test_a_declined_consent_is_explained_and_stores_nothing(desk: Page, platforms_online):
    agency = make_agency(name="Metro Police", slug="metro")
    make_member(agency, role=Role.ADMINISTRATOR, username="alex", password=PASSWORD)
    account = seed(platforms_online["x"], "metro-x")
    requests.post(f"{platforms_online['x']}/_sim/oauth/next",
                  json={"account_id": account["account_id"], "deny": True}, timeout=10)  # fmt: skip
    sign_in(desk, "alex")
    desk.goto("/channels/connect/")
    desk.get_by_role("link", name="Connect an X account").click()
    expect(desk.locator(".message-error")).to_contain_text("declined")
    with agency_scope(agency):
        assert not Channel.objects.exists()
        assert AuditEvent.objects.filter(action=Action.CHANNEL_CONNECT_REFUSED).count() == 1


def test_a_wrong_bluesky_app_password_is_explained(desk: Page, platforms_online):
    agency = make_agency(name="Metro Police", slug="metro")
    make_member(agency, role=Role.ADMINISTRATOR, username="alex", password=PASSWORD)
    seed(platforms_online["bluesky"], "metro.bsky.example", app_password="abcd-efgh-ijkl-mnop")
    sign_in(desk, "alex")
    desk.goto("/channels/connect/")
    desk.get_by_label("Bluesky handle").fill("metro.bsky.example")
    desk.get_by_label("App password").fill("wrong-pass-word-xxxx")
    desk.get_by_role("button", name="Connect a Bluesky account").click()
    expect(desk.locator(".field-error")).to_contain_text("App passwords")
    expect(desk.get_by_label("Bluesky handle")).to_have_value("metro.bsky.example")
    with agency_scope(agency):
        assert not Channel.objects.exists()
