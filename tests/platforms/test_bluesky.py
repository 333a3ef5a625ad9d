"""Bluesky beyond the contract (platform-apis.md §5): connecting with an app password,
link facets counted in UTF-8 bytes, the record key that makes a retried publish safe,
hiding through the root post's threadgate, and renewing the session by refresh token
or, when that is dead, by the stored app password."""

import socket
import uuid

import pytest
import requests

from platforms.adapters.base import (
    ChannelCredentials,
    ConnectRefused,
    OutgoingPost,
    Rejected,
    RetryLater,
)
from platforms.adapters.bluesky import SWAP_ATTEMPTS, BlueskyAdapter, Connector
from tests.platforms.contract import SEEDED_BIO
from tests.platforms.harness_bluesky import APP_PASSWORD, HANDLE, HARNESS

CREATE = "/xrpc/com.atproto.repo.createRecord"
PUT = "/xrpc/com.atproto.repo.putRecord"
THREADGATE = "app.bsky.feed.threadgate"
FOLLOWERS_ONLY = [{"$type": "app.bsky.feed.threadgate#followerRule"}]


@pytest.fixture
def harness():
    return HARNESS


def a_post(text: str | None = None) -> OutgoingPost:
    return OutgoingPost(
        text=text or f"Main St is closed until 6 pm [{uuid.uuid4().hex[:8]}]",
        attempt_key=str(uuid.uuid4()),
    )


def xrpc(sim, method: str, nsid: str, *, token: str | None = None, headers=None, **kwargs):
    headers = {**(headers or {}), **({"Authorization": f"Bearer {token}"} if token else {})}
    return requests.request(
        method, f"{sim.base_url}/xrpc/{nsid}", headers=headers, timeout=5, **kwargs
    )


def record_at(sim, uri: str) -> dict:
    did, collection, rkey = uri.removeprefix("at://").split("/")
    params = {"repo": did, "collection": collection, "rkey": rkey}
    response = xrpc(sim, "GET", "com.atproto.repo.getRecord", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def threadgate_of(sim, post_uri: str) -> dict:
    did, _, rkey = post_uri.removeprefix("at://").split("/")
    return record_at(sim, f"at://{did}/{THREADGATE}/{rkey}")


def comment_on(sim, adapter, target: str, text: str, author: str = "Pat Q"):
    sim.post(
        "/_sim/inject", {"target": target, "author": {"name": author}, "text": text}, expect=201
    )
    [comment] = [c for c in adapter.fetch_comments(since=None).comments if c.text == text]
    return comment


def logged(sim, *, method: str | None = None, path: str | None = None) -> list[dict]:
    """The simulator's request log. SimClient.requests(path=…) cannot be used: its
    `path` collides with SimClient.get's own first parameter (a shared-file bug)."""
    params = {k: v for k, v in (("method", method), ("path", path)) if v}
    response = sim.http.get(sim.base_url + "/_sim/requests", params=params, timeout=10)
    response.raise_for_status()
    return response.json()


def sim_item(sim, item_id: str) -> dict:
    [item] = [i for i in sim.published()["items"] if i["id"] == item_id]
    return item


# --- Connect ------------------------------------------------------------------------------


def test_connecting_by_login_works_end_to_end(sim):
    seeded = sim.seed_account(
        handle=HANDLE, display_name="Metro Police", bio=SEEDED_BIO, app_password=APP_PASSWORD
    )
    connector = Connector(base_urls={"service": sim.base_url})
    account = connector.login(identifier="@MetroPolice.bsky.social", app_password=APP_PASSWORD)
    assert (account.account_id, account.handle) == (seeded["platform_id"], HANDLE)
    assert account.display_name == "Metro Police"
    assert account.base_urls == {"service": sim.base_url, "pds": sim.base_url}
    assert set(account.secrets) == {"access_jwt", "refresh_jwt", "app_password"}
    [login] = logged(sim, path="/xrpc/com.atproto.server.createSession")
    assert login["body"]["password"] == "[redacted]"

    channel = ChannelCredentials(
        platform="bluesky",
        account_id=account.account_id,
        handle=account.handle,
        base_urls=account.base_urls,
        secrets=account.secrets,
    )
    post = a_post()
    BlueskyAdapter(channel).publish(post)
    [item] = sim.items_with_text(post.text)
    assert item["account_id"] == seeded["account_id"]


def test_a_wrong_app_password_is_refused_in_words(sim):
    sim.seed_account(handle=HANDLE, app_password=APP_PASSWORD)
    connector = Connector(base_urls={"service": sim.base_url})
    with pytest.raises(ConnectRefused) as refused:
        connector.login(identifier=HANDLE, app_password="wxyz-wxyz-wxyz-wxyz")
    assert refused.value.message == (
        "Bluesky refused the handle or app password. Create an app password in Bluesky's "
        "settings (Privacy and security → App passwords) and try again."
    )


def test_a_service_that_does_not_answer_is_refused_in_words():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    connector = Connector(base_urls={"service": f"http://127.0.0.1:{closed_port}"})
    with pytest.raises(ConnectRefused) as refused:
        connector.login(identifier=HANDLE, app_password=APP_PASSWORD)
    assert refused.value.message.startswith("Bluesky did not answer")


# --- Publish ------------------------------------------------------------------------------


def test_link_facets_carry_utf8_byte_offsets(sim, adapter):
    text = (
        "Fermé à cause des travaux 🚧 — détour: https://city.example/detour "
        "et www.city.example/info."
    )
    published = adapter.publish(a_post(text))
    record = record_at(sim, published.platform_post_id)["value"]
    encoded = text.encode()
    spans = [
        encoded[f["index"]["byteStart"] : f["index"]["byteEnd"]].decode() for f in record["facets"]
    ]
    assert spans == ["https://city.example/detour", "www.city.example/info"]
    assert [f["features"][0]["uri"] for f in record["facets"]] == [
        "https://city.example/detour",
        "https://www.city.example/info",
    ]
    # Non-ASCII before the link: bytes and characters part ways, so this checks bytes.
    assert record["facets"][0]["index"]["byteStart"] > text.index("https://")


def test_a_retried_publish_reuses_its_record_key_and_makes_no_second_post(sim, adapter):
    sim.fault("POST", CREATE, mode="drop_after_commit")
    post = a_post()
    with pytest.raises(RetryLater):
        adapter.publish(post)
    again = adapter.publish(post)
    assert len(sim.items_with_text(post.text)) == 1
    first, second = logged(sim, method="POST", path=CREATE)
    assert first["body"]["rkey"] == second["body"]["rkey"]
    assert again.platform_post_id.endswith("/app.bsky.feed.post/" + first["body"]["rkey"])


def test_300_graphemes_are_accepted_and_301_rejected_before_sending(sim, adapter):
    accented = "e\u0301"  # two code points, one grapheme
    adapter.publish(a_post(accented * 300))
    sent = len(sim.requests(method="POST"))
    with pytest.raises(Rejected) as too_long:
        adapter.publish(a_post(accented * 301))
    assert "300 characters" in too_long.value.reason
    # 240 graphemes, but 13 UTF-8 bytes each: over the 3,000-byte limit.
    with pytest.raises(Rejected) as too_big:
        adapter.publish(a_post("\U0001f46e\u200d\u2640\ufe0f" * 240))
    assert "3,000 bytes" in too_big.value.reason
    assert len(sim.requests(method="POST")) == sent


def test_the_simulator_itself_refuses_301_graphemes(sim, credentials):
    record = {
        "$type": "app.bsky.feed.post",
        "text": "x" * 301,
        "createdAt": "2026-08-01T12:00:00.000Z",
    }
    body = {"repo": credentials.account_id, "collection": "app.bsky.feed.post", "record": record}
    response = xrpc(
        sim,
        "POST",
        "com.atproto.repo.createRecord",
        token=credentials.secrets["access_jwt"],
        json=body,
    )
    assert response.status_code == 400
    assert response.json()["error"] == "InvalidRequest"
    assert "300 graphemes" in response.json()["message"]


# --- Comments -----------------------------------------------------------------------------


def test_a_reply_to_a_comment_names_its_parent_and_our_post(sim, adapter):
    target = adapter.publish(a_post()).platform_post_id
    first = comment_on(sim, adapter, target, "Is the detour open to trucks?")
    second = comment_on(sim, adapter, first.platform_comment_id, "Same question", "Lee R")
    assert (first.platform_post_id, first.parent_id) == (target, None)
    assert (second.platform_post_id, second.parent_id) == (target, first.platform_comment_id)
    assert (second.author_name, second.author_handle) == ("Lee R", "lee-r.bsky.social")

    answer = adapter.reply(second.platform_comment_id, "Yes, trucks too.", attempt_key="a1")
    refs = record_at(sim, answer.platform_post_id)["value"]["reply"]
    assert refs["root"]["uri"] == target
    assert refs["parent"]["uri"] == second.platform_comment_id


def test_a_poll_reads_back_five_minutes_before_its_watermark(sim, adapter):
    target = adapter.publish(a_post()).platform_post_id
    comment_on(sim, adapter, target, "early")
    watermark = adapter.fetch_comments(since=None).cursor
    sim.post("/_sim/clock", {"advance_s": 120})
    comment_on(sim, adapter, target, "two minutes later")
    sim.post("/_sim/clock", {"advance_s": 600})
    comment_on(sim, adapter, target, "twelve minutes later")
    texts = [c.text for c in adapter.fetch_comments(since=watermark).comments]
    # "early" sits at the watermark, inside the five-minute overlap, so it comes again.
    assert texts == ["early", "two minutes later", "twelve minutes later"]
    # From the newest watermark, the comment ten minutes older is past the overlap.
    later = adapter.fetch_comments(since=adapter.fetch_comments(since=watermark).cursor)
    assert [c.text for c in later.comments] == ["twelve minutes later"]


def test_fetching_follows_the_cursor_past_one_page(sim, adapter):
    target = adapter.publish(a_post()).platform_post_id
    for n in range(130):
        sim.post(
            "/_sim/inject",
            {"target": target, "author": {"name": f"Resident {n}"}, "text": f"comment {n}"},
            expect=201,
        )
    comments = adapter.fetch_comments(since=None).comments
    assert [c.text for c in comments] == [f"comment {n}" for n in range(130)]
    assert len(logged(sim, path="/xrpc/app.bsky.notification.listNotifications")) == 2


def test_deleting_a_comment_is_refused_with_the_alternative(sim, adapter):
    target = adapter.publish(a_post()).platform_post_id
    comment = comment_on(sim, adapter, target, "spam spam spam")
    with pytest.raises(Rejected) as refused:
        adapter.delete_comment(comment.platform_comment_id)
    assert "SMC hides it instead" in refused.value.reason
    assert not sim_item(sim, comment.platform_comment_id)["deleted"]


def test_the_simulator_mutes_and_reports_as_documented(sim, adapter, credentials):
    target = adapter.publish(a_post()).platform_post_id
    comment = comment_on(sim, adapter, target, "buy cheap watches")
    token = credentials.secrets["access_jwt"]
    muted = xrpc(
        sim, "POST", "app.bsky.graph.muteActor", token=token, json={"actor": comment.author_id}
    )
    assert muted.status_code == 200
    report = {
        "reasonType": "com.atproto.moderation.defs#reasonSpam",
        "reason": "advertising",
        "subject": {
            "$type": "com.atproto.repo.strongRef",
            "uri": comment.platform_comment_id,
            "cid": comment.raw["cid"],
        },
    }
    proxy = {"atproto-proxy": "did:plc:ar7c4by46qjdydhdevvrndac#atproto_labeler"}
    reported = xrpc(
        sim, "POST", "com.atproto.moderation.createReport", token=token, json=report, headers=proxy
    )
    assert reported.status_code == 200, reported.text
    assert reported.json()["reportedBy"] == credentials.account_id
    state = sim.published()
    assert state["mutes"] == {credentials.account_id: [comment.author_id]}
    assert [r["subject"]["uri"] for r in state["reports"]] == [comment.platform_comment_id]


# --- Hide through the threadgate -----------------------------------------------------------


def test_hiding_keeps_the_threadgate_allow_list_unchanged(sim, adapter, credentials):
    target = adapter.publish(a_post()).platform_post_id
    # The agency limited replies to its followers in the Bluesky app.
    rkey = target.rsplit("/", 1)[1]
    gate = {
        "$type": THREADGATE,
        "post": target,
        "createdAt": "2026-08-01T12:00:00.000Z",
        "allow": FOLLOWERS_ONLY,
    }
    body = {"repo": credentials.account_id, "collection": THREADGATE, "rkey": rkey, "record": gate}
    response = xrpc(
        sim,
        "POST",
        "com.atproto.repo.putRecord",
        token=credentials.secrets["access_jwt"],
        json=body,
    )
    assert response.status_code == 200, response.text
    comment = comment_on(sim, adapter, target, "a rude reply")

    adapter.hide_comment(comment.platform_comment_id)
    value = threadgate_of(sim, target)["value"]
    assert value["allow"] == FOLLOWERS_ONLY
    assert value["hiddenReplies"] == [comment.platform_comment_id]
    assert sim_item(sim, comment.platform_comment_id)["hidden"] is True
    [*_, write] = logged(sim, method="POST", path=PUT)
    assert write["body"]["swapRecord"] == response.json()["cid"]

    adapter.unhide_comment(comment.platform_comment_id)
    value = threadgate_of(sim, target)["value"]
    assert (value["allow"], value["hiddenReplies"]) == (FOLLOWERS_ONLY, [])
    assert sim_item(sim, comment.platform_comment_id)["hidden"] is False


def test_an_invalid_swap_race_is_retried(sim, adapter):
    target = adapter.publish(a_post()).platform_post_id
    comment = comment_on(sim, adapter, target, "hide me")
    lost = {"error": "InvalidSwap", "message": "Record was at null"}
    sim.fault("POST", PUT, mode="platform_error", status=400, body=lost)
    adapter.hide_comment(comment.platform_comment_id)
    assert sim_item(sim, comment.platform_comment_id)["hidden"] is True
    assert len(logged(sim, method="POST", path=PUT)) == 2


def test_a_race_that_never_settles_is_retryable_not_rejected(sim, adapter):
    target = adapter.publish(a_post()).platform_post_id
    comment = comment_on(sim, adapter, target, "hide me")
    lost = {"error": "InvalidSwap", "message": "Record was at null"}
    sim.fault("POST", PUT, count=SWAP_ATTEMPTS, mode="platform_error", status=400, body=lost)
    with pytest.raises(RetryLater):
        adapter.hide_comment(comment.platform_comment_id)
    assert sim_item(sim, comment.platform_comment_id)["hidden"] is False


# --- Session renewal ----------------------------------------------------------------------


def test_refresh_rotates_the_refresh_token(sim, adapter, credentials):
    old = dict(credentials.secrets)
    sim.post(
        "/_sim/tokens",
        {"account_id": credentials.settings["sim_account_id"], "action": "expire"},
        expect=204,
    )
    assert adapter.read_profile().bio == SEEDED_BIO
    assert credentials.secrets["access_jwt"] != old["access_jwt"]
    assert credentials.secrets["refresh_jwt"] != old["refresh_jwt"]
    reused = xrpc(sim, "POST", "com.atproto.server.refreshSession", token=old["refresh_jwt"])
    assert (reused.status_code, reused.json()["message"]) == (400, "Token has been revoked")
    assert logged(sim, path="/xrpc/com.atproto.server.createSession") == []


def test_an_expired_refresh_token_falls_back_to_the_app_password(sim, adapter, credentials):
    old = dict(credentials.secrets)
    sim.post("/_sim/clock", {"advance_s": 91 * 86400})  # past the 90-day refresh token
    assert adapter.read_profile().bio == SEEDED_BIO
    [refresh] = logged(sim, path="/xrpc/com.atproto.server.refreshSession")
    [login] = logged(sim, path="/xrpc/com.atproto.server.createSession")
    assert (refresh["status"], login["status"]) == (400, 200)
    assert credentials.secrets["refresh_jwt"] != old["refresh_jwt"]
    assert credentials.secrets["app_password"] == APP_PASSWORD
