"""C1 bad input: each gets a clear message, stores nothing, and is recorded."""

import socket

from django.urls import reverse

from audit.actions import Action
from audit.models import AuditEvent
from platforms.models import Channel, PlatformApp


def _refusals():
    return AuditEvent.objects.filter(action=Action.CHANNEL_CONNECT_REFUSED).count()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when we return: nothing listens there


def test_an_address_that_is_not_a_mastodon_server(client, agency, admin, simulated_platforms):
    client.force_login(admin.user)
    # The X simulator answers HTTP, but it is no Mastodon server.
    response = client.post(reverse("platforms:connect_mastodon"),
                           {"instance": simulated_platforms["x"]})  # fmt: skip
    assert response.status_code == 400
    assert "is not a Mastodon server" in response.content.decode()
    assert not Channel.objects.exists() and not PlatformApp.objects.exists()
    assert _refusals() == 1


def test_a_platform_that_does_not_answer(client, agency, admin, simulated_platforms):
    client.force_login(admin.user)
    response = client.post(reverse("platforms:connect_mastodon"),
                           {"instance": f"http://127.0.0.1:{_closed_port()}"})  # fmt: skip
    assert response.status_code == 400
    assert "did not answer" in response.content.decode()
    assert not Channel.objects.exists()
    assert _refusals() == 1


def test_something_that_is_not_an_address(client, agency, admin):
    client.force_login(admin.user)
    response = client.post(reverse("platforms:connect_mastodon"), {"instance": "ftp://x"})
    assert "is not a web address" in response.content.decode()
    assert _refusals() == 1


def test_an_oauth_state_mismatch(client, agency, admin, simulated_platforms):
    client.force_login(admin.user)
    start = client.get(reverse("platforms:connect_start", args=["x"]))
    assert start.status_code == 302  # to X's consent page
    forged = reverse("platforms:connect_callback", args=["x"]) + "?code=abc&state=forged"
    response = client.get(forged, follow=True)
    assert "does not belong to the connection you started" in response.content.decode()
    assert not Channel.objects.exists()
    assert _refusals() == 1


def test_a_callback_nobody_started(client, agency, admin, simulated_platforms):
    client.force_login(admin.user)
    response = client.get(reverse("platforms:connect_callback", args=["x"]) + "?code=a&state=b",
                          follow=True)  # fmt: skip
    assert "This connection was not started here" in response.content.decode()
    assert _refusals() == 1


def test_no_client_registration_is_explained(client, agency, admin, settings):
    settings.SMC_OAUTH_CLIENTS = {"facebook": ("", ""), "x": ("", ""), "youtube": ("", "")}
    client.force_login(admin.user)
    response = client.get(reverse("platforms:connect_start", args=["facebook"]), follow=True)
    assert "SMC has no Facebook Page client registration yet." in response.content.decode()
