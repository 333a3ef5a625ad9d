"""A1 journey, on a phone: an officer whose agency requires two-factor sign-in signs in,
is sent to set up an authenticator app, enrols it, signs out, and signs in again with a
code from the app. A code that is stale or already used is refused, and the record holds
every step.
"""

import re
import time

import pytest
from allauth.mfa import app_settings as mfa_settings
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from playwright.sync_api import Locator, Page, expect

from accounts.models import Role
from audit.actions import Action
from audit.models import AuditEvent
from smc.tenancy import agency_scope
from tests.factories import make_agency, make_member

pytestmark = pytest.mark.browser

PHONE_WIDTH = 360
MIN_TOUCH_TARGET = 44  # px, the promise at the top of static/smc/app.css


# --- The authenticator app on the officer's other hand ----------------------------------------


def window_now() -> int:
    """The TOTP counter: which 30-second window the server is in."""
    return int(time.time()) // mfa_settings.TOTP_PERIOD


def seconds_left_in_window() -> float:
    return mfa_settings.TOTP_PERIOD - time.time() % mfa_settings.TOTP_PERIOD


def code_for(secret: str, window: int) -> str:
    return format_hotp_value(hotp_value(secret, window))


def wait_until(condition, *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)  # a poll step, not a fixed wait


def window_after(window: int, *, seconds_left: float) -> int:
    """Wait for a window later than `window` with at least `seconds_left` to run, so a
    code typed now is still current when the server checks it (allauth allows no drift).
    """
    wait_until(
        lambda: window_now() > window and seconds_left_in_window() >= seconds_left,
        timeout=2 * mfa_settings.TOTP_PERIOD + 5,
        what=f"a TOTP window after #{window} with {seconds_left} s left",
    )
    return window_now()


# --- The officer's thumb -----------------------------------------------------------------


def snap(page: Page, name: str) -> None:
    page.screenshot(path=f"/tmp/journey-{name}.png", full_page=True)


def assert_fits_phone(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE_WIDTH, f"{page.url} scrolls sideways: {width} px wide on a phone"


def tap(target: Locator) -> None:
    expect(target).to_be_visible()
    box = target.bounding_box()
    assert box["height"] >= MIN_TOUCH_TARGET, f"touch target too small: {box}"
    target.tap()


def sign_in_with_password(page: Page, username: str, password: str, shot: str = "") -> None:
    page.goto("/login/")
    expect(page.get_by_role("heading", name="Sign In")).to_be_visible()
    assert_fits_phone(page)
    page.locator("input[name=login]").fill(username)
    page.locator("input[name=password]").fill(password)
    if shot:
        snap(page, shot)
    tap(page.get_by_role("button", name="Sign In", exact=True))


def sign_out(page: Page, shot: str = "") -> None:
    menu = page.locator("details.menu")
    tap(menu.locator("summary"))
    if shot:
        snap(page, shot)
    tap(menu.get_by_role("button", name="Sign out", exact=True))
    # allauth confirms only a sign-out by GET; the menu's button posts, so none is expected.
    if page.get_by_text("Are you sure you want to sign out?").is_visible():
        tap(page.get_by_role("button", name="Sign Out", exact=True))
    expect(page).to_have_url(re.compile(r"/login/$"))
    expect(page.get_by_text("You have signed out.")).to_be_visible()


def enter_code(page: Page, code: str) -> None:
    page.locator("input[name=code]").fill(code)
    tap(page.get_by_role("button", name="Sign In", exact=True))


def is_subsequence(wanted: list[str], actions: list[str]) -> bool:
    remaining = iter(actions)
    return all(action in remaining for action in wanted)


# --- The journey ---------------------------------------------------------------------------


def test_officer_enrols_an_authenticator_app_and_signs_in_with_it(phone: Page, password):
    agency = make_agency(name="Metro Police", slug="metro")
    agency.mfa_required_roles = [Role.USER]
    agency.save()
    make_member(agency, role=Role.USER, username="kim", password=password)
    page = phone

    # Password first; the agency's policy then allows nothing but setting up the app
    # (and no second password prompt: the sign-in a moment ago is recent enough).
    sign_in_with_password(page, "kim", password, shot="01-sign-in")
    expect(page).to_have_url(re.compile(r"/2fa/totp/activate/$"))
    expect(page.get_by_role("heading", name="Activate Authenticator App")).to_be_visible()
    expect(page.get_by_test_id("active-agency")).to_have_text("Metro Police")
    expect(
        page.get_by_text(
            "Metro Police requires two-factor sign-in for your role. "
            "Set up an authenticator app to continue."
        )
    ).to_be_visible()
    snap(page, "02-activate")
    assert_fits_phone(page)

    # The officer types the secret shown under the QR code into the app.
    shown = page.locator("#authenticator_secret")
    secret = shown.input_value()
    assert re.fullmatch(r"[A-Z2-7]{32}", secret), secret
    # The app is on this same phone, so the QR code is no use: the whole secret must show.
    assert shown.evaluate("e => e.scrollWidth <= e.clientWidth"), "the secret is cut off"
    enrolled_in = window_after(window_now() - 1, seconds_left=5)
    page.locator("input[name=code]").fill(code_for(secret, enrolled_in))
    tap(page.get_by_role("button", name="Activate", exact=True))
    expect(page.get_by_text("Authenticator app activated.")).to_be_visible()
    expect(page.get_by_role("heading", name="Recovery Codes")).to_be_visible()
    expect(page.locator("#recovery_codes")).to_have_value(re.compile(r"\w{8}"))
    snap(page, "03-recovery-codes")
    assert_fits_phone(page)

    sign_out(page, shot="04-menu-open")
    snap(page, "05-signed-out")

    # Signing in again now takes a code. The one used to enrol is no longer good: the app
    # has moved on to the next window by the time the officer types it.
    sign_in_with_password(page, "kim", password)
    expect(page).to_have_url(re.compile(r"/2fa/authenticate/$"))
    expect(page.get_by_role("heading", name="Two-Factor Authentication")).to_be_visible()
    assert_fits_phone(page)
    # Leave room in the window to sign out and in again within it, below.
    signed_in_in = window_after(enrolled_in, seconds_left=20)
    enter_code(page, code_for(secret, enrolled_in))
    expect(page.get_by_text("Incorrect code.")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/2fa/authenticate/$"))
    snap(page, "06-code-refused")

    enter_code(page, code_for(secret, signed_in_in))
    expect(page).to_have_url(re.compile(r"://[^/]+/$"))  # the home page
    expect(page.get_by_role("heading", level=1)).to_have_text("Hello, Kim")
    expect(page.get_by_test_id("active-agency")).to_have_text("Metro Police")
    snap(page, "07-home")
    assert_fits_phone(page)

    # Someone who saw that code cannot use it again, even within its window.
    sign_out(page)
    sign_in_with_password(page, "kim", password)
    assert window_now() == signed_in_in, "the window ended: this would not test reuse"
    enter_code(page, code_for(secret, signed_in_in))
    expect(page.get_by_text("Incorrect code.")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/2fa/authenticate/$"))
    snap(page, "08-reused-code-refused")

    with agency_scope(agency):
        actions = list(AuditEvent.objects.order_by("seq").values_list("action", flat=True))
    wanted = [
        Action.LOGIN_SUCCEEDED,
        Action.MFA_TOTP_ADDED,
        Action.LOGGED_OUT,
        Action.MFA_CODE_REJECTED,
        Action.MFA_CODE_ACCEPTED,
        Action.LOGIN_SUCCEEDED,
        Action.LOGGED_OUT,
        Action.MFA_CODE_REJECTED,
    ]
    assert is_subsequence(wanted, actions), actions
