"""X specifics the contract suite does not cover: connecting (OAuth 2.0 with PKCE),
duplicate content, the self-serve reply rule, hiding only in our own conversations,
refresh-token rotation, weighted length at its edges, and replies deeper in a thread.
Everything runs against the X simulator over real HTTP."""

import dataclasses
import socket
import time
import uuid
from contextlib import contextmanager
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from platforms.adapters.base import (
    ChannelCredentials,
    ConnectRefused,
    ConnectStart,
    NeedsReconnect,
    OAuthClient,
    OutgoingPost,
    Rejected,
    RetryLater,
)
from platforms.adapters.x import Connector, XAdapter
from platforms.simulators.core import SIM_CLIENT_ID, SIM_CLIENT_SECRET, serve
from platforms.simulators.x import REPLY_RULE, XSimulator
from tests.platforms.contract import SimClient
from tests.platforms.harness_x import HARNESS

CALLBACK = "https://smc.example/channels/x/callback"


@pytest.fixture(scope="module")
def sim_url():
    server, url = serve(XSimulator())
    yield url
    server.shutdown()


@pytest.fixture
def sim(sim_url):
    client = SimClient(sim_url)
    client.reset()
    return client


@pytest.fixture
def credentials(sim):
    return HARNESS.credentials(sim, sim.base_url)


@pytest.fixture
def adapter(credentials):
    return XAdapter(credentials, timeout=(2.0, 2.0))


def unique(text: str) -> str:
    return f"{text} [{uuid.uuid4().hex[:8]}]"


def connector(sim, *, secret: str = SIM_CLIENT_SECRET) -> Connector:
    return Connector(
        base_urls=HARNESS.base_urls(sim.base_url),
        client=OAuthClient(SIM_CLIENT_ID, secret, CALLBACK),
    )


def consent(start: ConnectStart) -> str:
    """The administrator's browser at X's consent page; returns where X sends it back."""
    answer = requests.get(start.authorize_url, allow_redirects=False, timeout=5)
    assert answer.status_code == 302, answer.text
    return answer.headers["Location"]


def channel(sim, *, account_id: str, secrets: dict, settings: dict) -> ChannelCredentials:
    return ChannelCredentials(
        platform="x",
        account_id=account_id,
        handle="MetroPD",
        base_urls=HARNESS.base_urls(sim.base_url),
        settings=settings,
        secrets={k: secrets[k] for k in ("access_token", "refresh_token")},
    )


def search(sim, adapter, query: str) -> dict:
    token = adapter.credentials.secrets["access_token"]
    answer = requests.get(
        f"{sim.base_url}/2/tweets/search/recent",
        params={"query": query},
        headers={"Authorization": f"Bearer {token}"},
        timeout=5,
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


@contextmanager
def nothing_listening():
    """An address where the connection is refused, as when X is unreachable."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


def received(sim, method: str, path: str) -> list[dict]:
    """The simulator's log of calls to one endpoint. (SimClient.requests cannot filter by
    path: its `path` filter collides with SimClient.get's own `path` parameter.)"""
    answer = requests.get(
        f"{sim.base_url}/_sim/requests", params={"method": method, "path": path}, timeout=5
    )
    answer.raise_for_status()
    return answer.json()


def public_post(sim, text: str, author: str = "Lee R", target: str | None = None) -> str:
    handle = author.replace(" ", "").lower()
    payload = {"text": text, "author": {"name": author, "handle": handle}}
    if target:
        payload["target"] = target
    return sim.post("/_sim/inject", payload, expect=201)["data"]["id"]


# --- Connecting (§2.1) ------------------------------------------------------------------------


@pytest.mark.parametrize("secret", [SIM_CLIENT_SECRET, ""], ids=["confidential", "public"])
def test_connecting_an_account_end_to_end(sim, secret):
    seeded = sim.seed_account(
        handle="MetroPD",
        display_name="Metro Police",
        bio="Official account.",
        website="https://police.metro.example",
    )
    sim.post("/_sim/oauth/next", {"account_id": seeded["account_id"]}, expect=204)
    x = connector(sim, secret=secret)

    start = x.start(state="state-123")
    query = parse_qs(urlsplit(start.authorize_url).query)
    assert query["code_challenge_method"] == ["S256"] and start.code_verifier
    assert set(query["scope"][0].split()) >= {"tweet.moderate.write", "offline.access"}
    back = consent(start)
    assert back.startswith(CALLBACK + "?")
    assert set(parse_qs(urlsplit(back).query)) == {"state", "code"}

    [account] = x.finish(callback_url=back, start=start)
    assert (account.account_id, account.handle, account.display_name) == (
        seeded["platform_id"],
        "MetroPD",
        "Metro Police",
    )
    assert set(account.secrets) == {"access_token", "refresh_token"}
    assert account.base_urls == HARNESS.base_urls(sim.base_url)

    connected = channel(
        sim, account_id=account.account_id, secrets=account.secrets, settings=account.settings
    )
    assert XAdapter(connected).read_profile().website == "https://police.metro.example"


def test_a_declined_consent_is_refused_with_a_clear_message(sim):
    seeded = sim.seed_account(handle="MetroPD")
    sim.post("/_sim/oauth/next", {"account_id": seeded["account_id"], "deny": True}, expect=204)
    x = connector(sim)
    start = x.start(state="state-123")
    back = consent(start)
    assert parse_qs(urlsplit(back).query)["error"] == ["access_denied"]
    with pytest.raises(ConnectRefused) as refused:
        x.finish(callback_url=back, start=start)
    assert refused.value.message == (
        "X did not give SMC access: the person connecting declined. Connect again and allow SMC."
    )


def test_an_answer_for_another_attempt_is_refused(sim):
    sim.seed_account(handle="MetroPD")
    x = connector(sim)
    back = consent(x.start(state="the-one-x-answered"))
    ours = x.start(state="the-one-in-our-session")
    with pytest.raises(ConnectRefused) as refused:
        x.finish(callback_url=back, start=ours)
    assert "does not belong to the connection you started" in refused.value.message
    assert received(sim, "POST", "/2/oauth2/token") == []


def test_a_wrong_pkce_verifier_is_refused_by_x(sim):
    sim.seed_account(handle="MetroPD")
    x = connector(sim)
    start = x.start(state="state-123")
    back = consent(start)
    forged = ConnectStart(start.authorize_url, start.state, code_verifier="x" * 43)
    with pytest.raises(ConnectRefused) as refused:
        x.finish(callback_url=back, start=forged)
    assert "X refused to connect the account" in refused.value.message
    [exchange] = received(sim, "POST", "/2/oauth2/token")
    assert exchange["status"] == 400
    assert "x" * 43 not in refused.value.message


def test_x_not_answering_is_refused_with_a_clear_message(sim):
    sim.seed_account(handle="MetroPD")
    x = connector(sim)
    start = x.start(state="state-123")
    back = consent(start)
    with nothing_listening() as dead_url:
        x.base_urls = {**x.base_urls, "api": dead_url}
        with pytest.raises(ConnectRefused) as refused:
            x.finish(callback_url=back, start=start)
    assert refused.value.message.startswith("X did not answer")


# --- Publishing (§2.2) -----------------------------------------------------------------------


def test_identical_text_within_a_day_is_rejected_with_xs_reason(sim, adapter):
    text = unique("Main St is closed until 6 pm")
    adapter.publish(OutgoingPost(text=text))
    with pytest.raises(Rejected) as rejected:
        adapter.publish(OutgoingPost(text=text))
    assert "You are not allowed to create a Tweet with duplicate content." in rejected.value.reason
    assert len(sim.items_with_text(text)) == 1


def test_a_retry_refused_as_duplicate_is_the_first_attempt_landing(sim, adapter):
    sim.fault("POST", "/2/tweets", mode="drop_after_commit")
    post = OutgoingPost(text=unique("Main St is closed"), first_attempt_at=time.time())
    with pytest.raises(RetryLater):
        adapter.publish(post)
    again = adapter.publish(post)
    [item] = sim.items_with_text(post.text)
    assert again.platform_post_id == item["id"]


def test_exactly_280_weighted_characters_pass_and_281_are_rejected_unsent(sim, adapter):
    cjk = "封" * 140  # each weighs 2
    adapter.publish(OutgoingPost(text=cjk))
    link = "https://city.example/detour/" + "a" * 300  # any URL weighs 23
    adapter.publish(OutgoingPost(text="x" * 256 + " " + link))
    sent = len(received(sim, "POST", "/2/tweets"))
    for too_long in (cjk + "x", "x" * 257 + " " + link):
        with pytest.raises(Rejected) as rejected:
            adapter.publish(OutgoingPost(text=too_long))
        assert "281 characters" in rejected.value.reason
    assert len(received(sim, "POST", "/2/tweets")) == sent == 2


def test_a_link_is_published_in_the_text_and_found_again_behind_tco(sim, adapter):
    post = OutgoingPost(text=unique("Detour & updates"), link="https://city.example/detour")
    sim.fault("POST", "/2/tweets", mode="drop_after_commit")
    with pytest.raises(RetryLater):
        adapter.publish(post)
    [item] = sim.items_with_text(post.text)
    assert item["text"].endswith("\n\nhttps://city.example/detour")
    # X answers with the link as t.co and "&" as "&amp;"; reconcile still matches it.
    assert adapter.find_published(post).platform_post_id == item["id"]


# --- Replies and moderation (§2.4, §2.5) ---------------------------------------------------


def test_replying_where_the_author_never_engaged_us_is_rejected(sim, adapter):
    stranger = public_post(sim, unique("Traffic is bad downtown"))
    text = unique("Main St is closed until 6 pm.")
    with pytest.raises(Rejected) as rejected:
        adapter.reply(stranger, text)
    assert REPLY_RULE in rejected.value.reason
    assert sim.items_with_text(text) == []


def test_a_reply_retried_after_no_answer_is_found_and_a_canned_one_elsewhere_refused(sim, adapter):
    ours = HARNESS.commentable_post(sim, adapter)
    pat = public_post(sim, unique("Is the detour open?"), author="Pat Q", target=ours)
    lee = public_post(sim, unique("Is it open to trucks?"), author="Lee R", target=ours)
    canned = unique("Thanks, we have passed this on.")
    sim.fault("POST", "/2/tweets", mode="drop_after_commit")
    with pytest.raises(RetryLater) as caught:
        adapter.reply(pat, canned)
    assert caught.value.ambiguous
    [landed] = sim.items_with_text(canned)
    assert adapter.reply(pat, canned).platform_post_id == landed["id"]
    with pytest.raises(Rejected) as rejected:
        adapter.reply(lee, canned)
    assert "duplicate content" in rejected.value.reason
    assert len(sim.items_with_text(canned)) == 1


def test_hiding_a_reply_in_someone_elses_conversation_is_refused(sim, adapter):
    stranger = public_post(sim, unique("Traffic is bad downtown"))
    reply = public_post(sim, unique("Agreed"), author="Sam T", target=stranger)
    with pytest.raises(Rejected) as rejected:
        adapter.hide_comment(reply)
    assert "conversations you started" in rejected.value.reason
    [item] = [i for i in sim.published()["items"] if i["id"] == reply]
    assert item["hidden"] is False


def test_hiding_without_the_moderation_permission_needs_reconnect(sim):
    seeded = sim.seed_account(
        handle="MetroPD", scopes=["tweet.read", "users.read", "tweet.write", "offline.access"]
    )
    limited = XAdapter(
        channel(
            sim,
            account_id=seeded["platform_id"],
            secrets=seeded,
            settings={"client_id": SIM_CLIENT_ID},
        )
    )
    ours = limited.publish(OutgoingPost(text=unique("Main St is closed"))).platform_post_id
    reply = public_post(sim, unique("When will it reopen?"), target=ours)
    with pytest.raises(NeedsReconnect):
        limited.hide_comment(reply)


def test_replies_deeper_in_our_thread_name_our_post_and_read_as_written(sim, adapter):
    ours = HARNESS.commentable_post(sim, adapter)
    first = public_post(sim, unique("Is the detour open?"), author="Pat Q", target=ours)
    deeper = unique("It is & see https://city.example/map")
    public_post(sim, deeper, author="Lee R", target=first)
    [comment] = [c for c in adapter.fetch_comments(since=None).comments if c.text == deeper]
    assert comment.platform_post_id == ours
    assert comment.parent_id == first
    assert (comment.author_name, comment.author_handle) == ("Lee R", "leer")
    adapter.reply(comment.platform_comment_id, unique("Yes, it is open."))
    # Conversation search shows the same thread: our post, both replies and our answer.
    assert search(sim, adapter, f"conversation_id:{ours}")["meta"]["result_count"] == 4


def test_every_page_of_mentions_is_read(sim, adapter):
    ours = HARNESS.commentable_post(sim, adapter)
    texts = {unique(f"Question {n}") for n in range(130)}
    for text in texts:
        public_post(sim, text, target=ours)
    batch = adapter.fetch_comments(since=None)
    assert {c.text for c in batch.comments} == texts
    assert len(received(sim, "GET", f"/2/users/{adapter.credentials.account_id}/mentions")) == 2
    assert batch.cursor == max((c.platform_comment_id for c in batch.comments), key=int)
    assert adapter.fetch_comments(since=batch.cursor).comments == []


# --- Refresh (§2.1) ----------------------------------------------------------------------------


def test_a_refresh_rotates_the_refresh_token(sim, adapter, credentials):
    old = credentials.secrets["refresh_token"]
    # Another worker still holding the pair from before the refresh.
    stale = XAdapter(dataclasses.replace(credentials, secrets=dict(credentials.secrets)))
    sim.post(
        "/_sim/tokens",
        {"account_id": credentials.settings["sim_account_id"], "action": "expire"},
        expect=204,
    )
    adapter.read_profile()
    assert credentials.secrets["refresh_token"] != old
    refused = requests.post(
        f"{sim.base_url}/2/oauth2/token",
        timeout=5,
        data={
            "grant_type": "refresh_token",
            "refresh_token": old,
            "client_id": SIM_CLIENT_ID,
        },
    )
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_request"
    with pytest.raises(NeedsReconnect):
        stale.read_profile()


def test_a_confidential_client_renews_access_with_its_secret(sim, credentials):
    adapter = XAdapter(credentials, client=OAuthClient(SIM_CLIENT_ID, SIM_CLIENT_SECRET))
    sim.post(
        "/_sim/tokens",
        {"account_id": credentials.settings["sim_account_id"], "action": "expire"},
        expect=204,
    )
    assert "Not monitored 24/7" in adapter.read_profile().bio
    [renewal] = received(sim, "POST", "/2/oauth2/token")
    assert renewal["status"] == 200 and "client_id" not in renewal["body"]
