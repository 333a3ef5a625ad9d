"""Mastodon specifics beyond the contract: registering SMC on an instance and connecting
over real HTTP, instance limits, Idempotency-Key, mentions as comments, media that is
still processing, and the moderation Mastodon does not offer."""

import functools
import socket
import threading
import time
import uuid
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest
import requests

from platforms.adapters.base import (
    ChannelCredentials,
    ConnectRefused,
    Image,
    NeedsReconnect,
    OAuthClient,
    OutgoingPost,
    Rejected,
)
from platforms.adapters.mastodon import Connector, MastodonAdapter
from tests.platforms.contract import SEEDED_BIO
from tests.platforms.harness_mastodon import HARNESS

CALLBACK = "https://smc.example/channels/mastodon/callback"
GIF = bytes.fromhex(
    "47494638396101000100800000000000ffffff21f90401000000002c00000000010001000002024401003b"
)


@pytest.fixture
def harness():
    """Only Mastodon here, whatever SMC_CONTRACT_PLATFORMS says."""
    return HARNESS


def logged(sim, method: str | None = None, path: str | None = None) -> list[dict]:
    """The simulator's request log. (SimClient.requests cannot filter by path: its
    `path` collides with SimClient.get's own first parameter.)"""
    params = {k: v for k, v in (("method", method), ("path", path)) if v}
    response = sim.http.get(sim.base_url + "/_sim/requests", params=params, timeout=10)
    response.raise_for_status()
    return response.json()


def a_post(text: str, **fields) -> OutgoingPost:
    return OutgoingPost(text=text, attempt_key=str(uuid.uuid4()), **fields)


def unique(text: str) -> str:
    return f"{text} [{uuid.uuid4().hex[:8]}]"


def connect(sim) -> tuple[Connector, list]:
    """Register SMC on the instance, consent in the "browser", and finish."""
    client = Connector.register_app(sim.base_url, CALLBACK)
    connector = Connector(base_urls={"instance": sim.base_url}, client=client)
    start = connector.start(state=uuid.uuid4().hex)
    answer = requests.get(start.authorize_url, allow_redirects=False, timeout=5)
    assert answer.status_code == 302, answer.text
    location = answer.headers["Location"]
    assert location.startswith(CALLBACK)
    return connector, connector.finish(callback_url=location, start=start)


def adapter_for(account) -> MastodonAdapter:
    credentials = ChannelCredentials(
        platform="mastodon",
        account_id=account.account_id,
        handle=account.handle,
        base_urls=account.base_urls,
        settings=account.settings,
        secrets=account.secrets,
    )
    return MastodonAdapter(credentials, timeout=(2.0, 2.0))


@pytest.fixture
def plain_web_server(tmp_path):
    """A web server that is not Mastodon: it answers every API path with a 404 page."""

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, format, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=tmp_path))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


# --- Connecting ------------------------------------------------------------------------------


def test_connect_registers_smc_and_yields_a_working_channel(sim):
    # Mastodon usernames take no "-": the simulator seeds this one as metro_police.
    sim.seed_account(handle="metro-police", display_name="Metro Police", bio=SEEDED_BIO)
    _, [account] = connect(sim)
    assert account.handle == f"metro_police@{urlsplit(sim.base_url).netloc}"
    assert account.display_name == "Metro Police"
    assert account.settings == {
        "max_characters": 500,
        "characters_reserved_per_url": 23,
        "max_media_attachments": 4,
    }
    [authorize] = logged(sim, path="/oauth/authorize")
    assert authorize["query"]["code_challenge_method"] == "S256"
    assert authorize["query"]["force_login"] == "true"
    # The token holds exactly the scopes SMC asked for, and they are enough to work.
    adapter = adapter_for(account)
    assert "Not monitored 24/7" in adapter.read_profile().bio
    published = adapter.publish(a_post(unique("Connected")))
    adapter.delete(published.platform_post_id)


def test_register_app_reports_the_instance_refusal(sim):
    with pytest.raises(ConnectRefused) as caught:
        Connector.register_app(sim.base_url, "not a uri")
    assert "Redirect URI must be an absolute URI" in caught.value.message


def test_denied_consent_is_refused_in_plain_words(sim):
    sim.seed_account(handle="metropolice")
    sim.post("/_sim/oauth/next", {"deny": True}, expect=204)
    with pytest.raises(ConnectRefused) as caught:
        connect(sim)
    assert caught.value.code == "access_denied"
    assert "did not give SMC access: the person connecting declined." in caught.value.message


def test_an_answer_for_another_connection_is_refused(sim):
    sim.seed_account(handle="metropolice")
    client = Connector.register_app(sim.base_url, CALLBACK)
    connector = Connector(base_urls={"instance": sim.base_url}, client=client)
    start = connector.start(state="ours")
    location = requests.get(start.authorize_url, allow_redirects=False, timeout=5).headers[
        "Location"
    ]
    forged = location.replace("state=ours", "state=theirs")
    with pytest.raises(ConnectRefused) as caught:
        connector.finish(callback_url=forged, start=start)
    assert "does not belong to the connection you started" in caught.value.message
    assert caught.value.code == "state_mismatch"
    assert logged(sim, path="/oauth/token") == []


def test_the_instance_checks_the_pkce_verifier(sim):
    sim.seed_account(handle="metropolice")
    client = Connector.register_app(sim.base_url, CALLBACK)
    connector = Connector(base_urls={"instance": sim.base_url}, client=client)
    start = connector.start(state="s1")
    location = requests.get(start.authorize_url, allow_redirects=False, timeout=5).headers[
        "Location"
    ]
    other = connector.start(state="s1")  # same state, another verifier
    with pytest.raises(ConnectRefused) as caught:
        connector.finish(callback_url=location, start=other)
    assert caught.value.code == "token_refused"


def test_a_server_that_is_not_mastodon_is_refused(plain_web_server):
    with pytest.raises(ConnectRefused) as caught:
        Connector.register_app(plain_web_server, CALLBACK)
    assert caught.value.message == (
        f"{plain_web_server} is not a Mastodon server. Check the address, e.g. "
        "https://mastodon.social."
    )


def test_a_plain_http_server_elsewhere_is_refused(monkeypatch):
    # In production (SMC_HTTPS on) oauthlib is not allowed plain HTTP at all.
    monkeypatch.delenv("OAUTHLIB_INSECURE_TRANSPORT", raising=False)
    client = OAuthClient("id", "secret", CALLBACK)
    connector = Connector(base_urls={"instance": "http://mastodon.example"}, client=client)
    with pytest.raises(ConnectRefused) as caught:
        connector.start(state="s1")
    assert caught.value.message.startswith("http://mastodon.example does not use HTTPS")


def test_a_server_that_does_not_answer_is_refused():
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        address = f"http://127.0.0.1:{unused.getsockname()[1]}"
    with pytest.raises(ConnectRefused) as caught:
        Connector.register_app(address, CALLBACK)
    assert "did not answer" in caught.value.message


# --- Instance limits -------------------------------------------------------------------------


def test_an_instance_with_1000_characters_takes_a_900_character_post(sim):
    sim.seed_account(handle="metropolice", instance_max_characters=1000)
    _, [account] = connect(sim)
    assert account.settings["max_characters"] == 1000
    text = "é" * 890 + unique("")[-10:]
    assert len(text) == 900
    adapter_for(account).publish(a_post(text))
    assert len(sim.items_with_text(text)) == 1


def test_the_instance_refuses_a_post_over_its_own_limit(sim, credentials):
    # A channel whose stored limit is out of date: the instance itself says no.
    credentials.settings["max_characters"] = 1000
    adapter = MastodonAdapter(credentials, timeout=(2.0, 2.0))
    with pytest.raises(Rejected) as caught:
        adapter.publish(a_post("x" * 600))
    assert "Text character limit of 500 exceeded" in caught.value.reason


def test_a_url_counts_23_on_the_instance_too(sim, adapter):
    url = "https://city.example/" + "d" * 200
    text = "x" * (500 - 24) + " " + url
    assert adapter.text_length(text) == 500
    adapter.publish(a_post(text))
    assert len(sim.items_with_text(url)) == 1


# --- Idempotency -----------------------------------------------------------------------------


def test_one_attempt_key_makes_one_status(sim, adapter):
    post = a_post(unique("Main St is closed"))
    first = adapter.publish(post)
    again = adapter.publish(post)
    assert again.platform_post_id == first.platform_post_id
    assert len(sim.items_with_text(post.text)) == 1
    keys = {r["idempotency_key"] for r in logged(sim, "POST", "/api/v1/statuses")}
    assert keys == {post.attempt_key}


def test_a_new_attempt_key_is_a_new_status(sim, adapter):
    text = unique("Main St is closed")
    adapter.publish(a_post(text))
    adapter.publish(a_post(text))
    assert len(sim.items_with_text(text)) == 2


def test_reconcile_ignores_the_same_text_posted_before_this_attempt(sim, adapter):
    text = unique("Main St is closed")
    adapter.publish(a_post(text))
    assert adapter.find_published(a_post(text, first_attempt_at=time.time())) is not None
    # The same words three hours later are a new post, not this one landing.
    later = a_post(text, first_attempt_at=time.time() + 3 * 3600)
    assert adapter.find_published(later) is None


# --- Media -----------------------------------------------------------------------------------


def test_a_gif_is_posted_once_mastodon_has_processed_it(sim, adapter):
    post = a_post(unique("Detour map"), images=(Image(GIF, "image/gif", alt="Detour map"),))
    published = adapter.publish(post)
    polls = sim.requests("GET")
    assert [r["status"] for r in polls if r["path"].startswith("/api/v1/media/")] == [206, 200]
    status = requests.get(
        f"{sim.base_url}/api/v1/statuses/{published.platform_post_id}", timeout=5
    ).json()
    assert [(m["type"], m["description"]) for m in status["media_attachments"]] == [
        ("gifv", "Detour map")
    ]


# --- Comments --------------------------------------------------------------------------------


def test_comments_are_read_page_by_page_until_none_are_left(sim, adapter):
    target = HARNESS.commentable_post(sim, adapter)
    # A new channel's first look finds nothing; a burst of more than a page follows.
    cursor = adapter.fetch_comments(since=None).cursor
    texts = [unique(f"question {n}") for n in range(100)]
    for text in texts:
        HARNESS.inject_comment(sim, post_id=target, text=text, author="Pat Q")
    batch = adapter.fetch_comments(since=cursor)
    assert [c.text for c in batch.comments] == texts
    pages = [r["query"].get("min_id") for r in logged(sim, "GET", "/api/v1/notifications")]
    assert len(pages) == 4  # the first look, then 80, 20 and an empty page
    assert adapter.fetch_comments(since=batch.cursor).comments == []


def test_a_reply_to_a_public_reply_is_filed_under_our_post(sim, adapter):
    target = HARNESS.commentable_post(sim, adapter)
    first = HARNESS.inject_comment(sim, post_id=target, text=unique("Open?"), author="Pat Q")
    text = unique("Pat, it is open")
    HARNESS.inject_comment(sim, post_id=first["id"], text=text, author="Lee R")
    [comment] = [c for c in adapter.fetch_comments(since=None).comments if c.text == text]
    assert (comment.platform_post_id, comment.parent_id) == (target, first["id"])
    assert comment.author_handle == "@leer@example.social"


def test_a_filtered_mention_still_arrives(sim, adapter):
    target = HARNESS.commentable_post(sim, adapter)
    text = unique("from a stranger")
    HARNESS.inject_comment(sim, post_id=target, text=text, author="New Account", filtered=True)
    assert text in {c.text for c in adapter.fetch_comments(since=None).comments}


def test_links_and_lines_in_a_comment_read_as_written(sim, adapter):
    target = HARNESS.commentable_post(sim, adapter)
    text = unique("See https://city.example/a/rather/long/path/to/the/detour/map\n\nThanks")
    HARNESS.inject_comment(sim, post_id=target, text=text, author="Pat Q")
    assert text in {c.text for c in adapter.fetch_comments(since=None).comments}


def test_a_reply_names_the_author_and_keeps_a_direct_message_direct(sim, adapter):
    target = HARNESS.commentable_post(sim, adapter)
    comment = HARNESS.inject_comment(
        sim, post_id=target, text=unique("My address is …"), author="Pat Q", visibility="direct"
    )
    text = unique("Thanks, Pat. We will call you.")
    reply = adapter.reply(comment["id"], text, attempt_key=str(uuid.uuid4()))
    [item] = sim.items_with_text(text)
    assert item["text"] == f"@patq@example.social {text}"
    status = requests.get(
        f"{sim.base_url}/api/v1/statuses/{reply.platform_post_id}",
        headers={"Authorization": f"Bearer {adapter.credentials.secrets['access_token']}"},
        timeout=5,
    ).json()
    assert status["visibility"] == "direct"


@pytest.mark.parametrize("action", ["hide_comment", "unhide_comment", "delete_comment"])
def test_mastodon_cannot_hide_or_delete_a_reply_and_says_so(sim, adapter, action):
    target = HARNESS.commentable_post(sim, adapter)
    comment = HARNESS.inject_comment(sim, post_id=target, text=unique("rude"), author="Pat Q")
    before = len(logged(sim))
    with pytest.raises(Rejected) as caught:
        getattr(adapter, action)(comment["id"])
    assert caught.value.reason == (
        "Mastodon cannot hide or delete another account's reply; SMC holds it in its own "
        "queue instead."
    )
    assert len(logged(sim)) == before, "nothing is sent to Mastodon"


# --- Errors ----------------------------------------------------------------------------------


def test_a_token_without_the_scope_needs_reconnect(sim):
    credentials = HARNESS.credentials(sim, sim.base_url, handle="readonly", scopes=["read"])
    adapter = MastodonAdapter(credentials, timeout=(2.0, 2.0))
    with pytest.raises(NeedsReconnect) as caught:
        adapter.publish(a_post(unique("Main St is closed")))
    assert "outside the authorized scopes" in caught.value.reason


def test_a_token_revoked_through_oauth_needs_reconnect(sim):
    sim.seed_account(handle="metropolice")
    connector, [account] = connect(sim)
    requests.post(
        f"{sim.base_url}/oauth/revoke",
        timeout=5,
        data={
            "client_id": connector.client.client_id,
            "client_secret": connector.client.client_secret,
            "token": account.secrets["access_token"],
        },
    ).raise_for_status()
    with pytest.raises(NeedsReconnect) as caught:
        adapter_for(account).read_profile()
    assert "The access token was revoked" in caught.value.reason
