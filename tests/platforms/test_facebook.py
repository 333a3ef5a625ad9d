"""Facebook Pages beyond the shared contract: connecting a Page, Graph versions,
several images, duplicates, error codes, and signed webhooks (platform-apis.md §1)."""

import json
import queue
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests

from platforms.adapters.base import (
    ChannelCredentials,
    ConnectRefused,
    ConnectStart,
    Image,
    NeedsReconnect,
    OAuthClient,
    OutgoingPost,
    Rejected,
    RetryLater,
)
from platforms.adapters.facebook import (
    SCOPES,
    Connector,
    FacebookAdapter,
    verify_webhook_signature,
)
from platforms.simulators.core import SIM_CLIENT_ID, SIM_CLIENT_SECRET
from tests.platforms.contract import SEEDED_BIO, SEEDED_WEBSITE
from tests.platforms.harness_facebook import HARNESS
from tests.platforms.test_contract import JPEG, a_post, unique

REDIRECT_URI = "https://smc.example/channels/connect/facebook/callback"
VERIFY_TOKEN = "smc-verify-token"
APP_SECRET = "smc-app-secret"


@pytest.fixture
def harness():
    """This module is about Facebook only, whatever SMC_CONTRACT_PLATFORMS says."""
    return HARNESS


def logged(sim, method: str | None = None, path: str | None = None) -> list[dict]:
    """The simulator's request log. SimClient.requests() cannot filter by path: its `path`
    collides with SimClient.get()'s own first parameter."""
    params = {k: v for k, v in (("method", method), ("path", path)) if v}
    answer = sim.http.get(sim.base_url + "/_sim/requests", params=params, timeout=10)
    answer.raise_for_status()
    return answer.json()


def seed(sim, **fields) -> dict:
    return sim.seed_account(
        handle="metropolice",
        display_name="Metro Police",
        bio=SEEDED_BIO,
        website=SEEDED_WEBSITE,
        **fields,
    )


def connector(sim) -> Connector:
    client = OAuthClient(SIM_CLIENT_ID, SIM_CLIENT_SECRET, REDIRECT_URI)
    return Connector(base_urls=HARNESS.base_urls(sim.base_url), client=client)


def consent(sim, state: str = "state-1") -> tuple[Connector, ConnectStart, str]:
    """Start connecting and follow the login dialog as the browser would: the callback."""
    flow = connector(sim)
    start = flow.start(state=state)
    answer = requests.get(start.authorize_url, allow_redirects=False, timeout=5)
    assert answer.status_code == 302, answer.text
    assert answer.headers["Location"].startswith(REDIRECT_URI + "?")
    return flow, start, answer.headers["Location"]


def connect(sim):
    flow, start, callback_url = consent(sim)
    return flow.finish(callback_url=callback_url, start=start)


def adapter_for(sim, account, **settings) -> FacebookAdapter:
    credentials = ChannelCredentials(
        platform="facebook",
        account_id=account.account_id,
        handle=account.handle,
        settings=settings,
        base_urls=HARNESS.base_urls(sim.base_url),
        secrets=account.secrets,
    )
    return FacebookAdapter(credentials, timeout=(2.0, 2.0))


# --- Connecting a Page (C1) -----------------------------------------------------------------


def test_connecting_gives_the_page_with_a_token_that_does_not_expire(sim):
    seeded = seed(sim)
    [account] = connect(sim)
    assert (account.account_id, account.display_name) == (seeded["platform_id"], "Metro Police")
    [dialog] = logged(sim, path="/dialog/oauth")
    assert set(dialog["query"]["scope"].split(",")) == set(SCOPES)
    exchanges = logged(sim, path="/oauth/access_token")
    assert [e["query"].get("grant_type") for e in exchanges] == [None, "fb_exchange_token"]
    [subscribed] = logged(sim, method="POST", path=f"/{account.account_id}/subscribed_apps")
    assert subscribed["status"] == 200
    # Past the long-lived user token's 60 days, the Page token still works (§1.1 step 4).
    sim.post("/_sim/clock", {"advance_s": 90 * 86400})
    assert "Not monitored 24/7" in adapter_for(sim, account).read_profile().bio


def test_declined_consent_is_refused_with_a_clear_message(sim):
    seeded = seed(sim)
    sim.post("/_sim/oauth/next", {"account_id": seeded["account_id"], "deny": True}, expect=204)
    with pytest.raises(ConnectRefused) as refused:
        connect(sim)
    assert refused.value.message == (
        "Facebook did not give SMC access: the person connecting declined. Connect again and "
        "allow SMC."
    )
    assert refused.value.code == "access_denied"
    assert logged(sim, path="/oauth/access_token") == []


def test_an_answer_to_another_attempt_is_refused(sim):
    seed(sim)
    flow, _, callback_url = consent(sim, state="the-attempt-facebook-answered")
    with pytest.raises(ConnectRefused) as refused:
        flow.finish(callback_url=callback_url, start=ConnectStart("", state="our-attempt"))
    assert "does not belong to the connection you started" in refused.value.message
    assert refused.value.code == "state_mismatch"
    assert logged(sim, path="/oauth/access_token") == []


def test_a_person_who_cannot_manage_the_page_is_refused(sim):
    seed(sim, tasks=["ANALYZE", "CREATE_CONTENT", "MODERATE"])
    with pytest.raises(ConnectRefused) as refused:
        connect(sim)
    assert "must be able to create content, moderate and manage the Page" in refused.value.message
    assert logged(sim, method="POST") == []


# --- Graph versions -------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["v19.0", "v26.0"])
def test_any_graph_version_is_served(sim, credentials, version):
    credentials.settings["graph_version"] = version
    assert FacebookAdapter(credentials).read_profile().display_name == "Metro Police"
    page, token = credentials.account_id, credentials.secrets["access_token"]
    # The token as a query parameter, as Graph also accepts it.
    answer = requests.get(
        f"{sim.base_url}/{version}/{page}",
        params={"fields": "name,website", "access_token": token},
        timeout=5,
    )
    assert answer.json() == {"name": "Metro Police", "website": SEEDED_WEBSITE}
    assert {
        r["path"]
        for r in logged(
            sim,
        )
    } == {f"/{page}"}


# --- Publishing -----------------------------------------------------------------------------


def test_several_images_go_out_as_one_post_with_attached_media(sim, adapter, credentials):
    page = credentials.account_id
    post = a_post(images=(Image(JPEG), Image(JPEG)), link="https://police.metro.example/map")
    published = adapter.publish(post)
    uploads = logged(sim, method="POST", path=f"/{page}/photos")
    assert [u["body"]["published"] for u in uploads] == ["false", "false"]
    [feed] = logged(sim, method="POST", path=f"/{page}/feed")
    media = [json.loads(feed["body"][f"attached_media[{i}]"])["media_fbid"] for i in (0, 1)]
    assert len(set(media)) == 2
    # A photo post shows no link preview: the link travels in the text.
    assert feed["body"]["message"] == f"{post.text}\n\nhttps://police.metro.example/map"
    [item] = sim.items_with_text(post.text)
    assert item["id"] == published.platform_post_id


def test_identical_text_within_a_day_is_rejected(sim, adapter):
    text = unique()
    sim.post("/_sim/clock", {"advance_s": -600})
    adapter.publish(OutgoingPost(text))
    sim.post("/_sim/clock", {"advance_s": 600})
    with pytest.raises(Rejected) as refused:
        adapter.publish(OutgoingPost(text, first_attempt_at=time.time()))
    assert "Duplicate status message" in refused.value.reason
    assert len(sim.items_with_text(text)) == 1


def test_a_duplicate_refusal_on_a_retry_means_the_first_attempt_landed(sim, adapter):
    post = OutgoingPost(unique(), first_attempt_at=time.time())
    method, path = HARNESS.publish_call
    sim.fault(method, path, mode="drop_after_commit")
    with pytest.raises(RetryLater):
        adapter.publish(post)
    landed = adapter.publish(post)
    [item] = sim.items_with_text(post.text)
    assert landed.platform_post_id == item["id"]


def test_the_simulator_refuses_an_over_long_message_itself(sim, credentials):
    page, token = credentials.account_id, credentials.secrets["access_token"]
    answer = requests.post(
        f"{sim.base_url}/v26.0/{page}/feed",
        data={"message": "x" * 63207},
        headers={"Authorization": f"Bearer {token}"},
        timeout=5,
    )
    assert (answer.status_code, answer.json()["error"]["code"]) == (400, 100)


# --- Comments and moderation ----------------------------------------------------------------


def test_polling_pages_through_comments_and_keeps_threads(sim, adapter):
    target = HARNESS.commentable_post(sim, adapter)
    texts = [unique(f"Comment {n}") for n in range(105)]
    for text in texts:
        HARNESS.inject_comment(sim, post_id=target, text=text, author="Pat Q")
    [first] = [i for i in sim.published()["items"] if i["text"] == texts[0]]
    answer = unique("Replying to the first")
    sim.post(
        "/_sim/inject",
        {"target": first["id"], "text": answer, "author": {"name": "Lee R", "handle": "lee"}},
        expect=201,
    )
    comments = {c.text: c for c in adapter.fetch_comments(since=None).comments}
    assert set(comments) == {*texts, answer}
    assert comments[answer].parent_id == first["id"]
    assert comments[answer].platform_post_id == target
    assert comments[texts[0]].parent_id is None
    assert len(logged(sim, method="GET", path=f"/{target}/comments")) == 2


def test_the_page_cannot_hide_its_own_reply(sim, adapter):
    target = HARNESS.commentable_post(sim, adapter)
    HARNESS.inject_comment(sim, post_id=target, text=unique("A question"), author="Pat Q")
    [comment] = adapter.fetch_comments(since=None).comments
    reply = adapter.reply(comment.platform_comment_id, unique("Our answer"))
    with pytest.raises(Rejected):
        adapter.hide_comment(reply.platform_post_id)
    assert logged(sim, method="POST", path=f"/{reply.platform_post_id}") == []


@pytest.mark.parametrize(
    ("status", "error", "outcome"),
    [
        (400, {"code": 190, "error_subcode": 460}, NeedsReconnect),
        (400, {"code": 102}, NeedsReconnect),
        (403, {"code": 10}, NeedsReconnect),
        (403, {"code": 200}, NeedsReconnect),
        (400, {"code": 17}, RetryLater),  # a throttle, whatever the status
        (400, {"code": 368}, RetryLater),
        (400, {"code": 1}, RetryLater),
        (400, {"code": 9007, "is_transient": True}, RetryLater),
        (500, {"code": 100, "error_subcode": 33}, Rejected),  # final, whatever the status
        (400, {"code": 1609005}, Rejected),
    ],
)
def test_graph_errors_are_classified_by_their_code(sim, adapter, status, error, outcome):
    method, path = HARNESS.profile_call
    body = {"error": {"message": "refused", "type": "OAuthException", **error}}
    sim.fault(method, path, mode="platform_error", status=status, body=body)
    with pytest.raises(outcome) as caught:
        adapter.read_profile()
    if error["code"] == 17:
        assert caught.value.retry_after == 15 * 60  # no usage header: Facebook's usual wait
    if error["code"] == 368:
        assert caught.value.retry_after >= 3600


# --- Webhooks -------------------------------------------------------------------------------


class Callback:
    """SMC's webhook endpoint as Facebook sees it: answers the hub.challenge when the
    verify token matches, and keeps each delivery (signature header, raw body)."""

    def __init__(self):
        self.handshakes: list[dict] = []
        self.deliveries: queue.Queue = queue.Queue()
        callback = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format, *args):  # noqa: A002 - the stdlib's signature
                pass

            def do_GET(self):
                query = dict(parse_qsl(urlsplit(self.path).query))
                ok = query.get("hub.verify_token") == VERIFY_TOKEN
                body = query.get("hub.challenge", "").encode() if ok else b"wrong verify token"
                callback.handshakes.append({**query, "answered": 200 if ok else 403})
                self.send_response(200 if ok else 403)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                callback.deliveries.put((self.headers.get("X-Hub-Signature-256"), body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/webhooks/facebook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def callback():
    endpoint = Callback()
    yield endpoint
    endpoint.server.shutdown()
    endpoint.server.server_close()


def subscribe(sim, callback, verify_token=VERIFY_TOKEN):
    payload = {"callback_url": callback.url, "verify_token": verify_token, "app_secret": APP_SECRET}
    return sim.http.post(sim.base_url + "/_sim/webhooks", json=payload, timeout=10)


def comment_on_a_new_post(sim, account, text: str) -> str:
    target = adapter_for(sim, account).publish(a_post()).platform_post_id
    sim.post(
        "/_sim/inject",
        {"target": target, "text": text, "author": {"name": "Pat Q", "handle": "patq"}},
        expect=201,
    )
    return target


def test_webhooks_are_verified_then_delivered_signed(sim, callback):
    seed(sim)
    [account] = connect(sim)
    answer = subscribe(sim, callback)
    assert answer.status_code == 200 and answer.json()["subscribed"] is True
    [handshake] = callback.handshakes
    assert (handshake["hub.mode"], handshake["answered"]) == ("subscribe", 200)

    text = unique("When will Main St reopen?")
    target = comment_on_a_new_post(sim, account, text)
    signed, body = callback.deliveries.get(timeout=5)
    assert verify_webhook_signature(APP_SECRET, body, signed)
    assert not verify_webhook_signature(APP_SECRET, body.replace(b"Main St", b"Main Rd"), signed)
    assert not verify_webhook_signature("another app's secret", body, signed)
    assert not verify_webhook_signature(APP_SECRET, body, None)
    [entry] = json.loads(body)["entry"]
    [change] = entry["changes"]
    assert entry["id"] == account.account_id and change["field"] == "feed"
    value = change["value"]
    assert (value["item"], value["verb"], value["post_id"]) == ("comment", "add", target)
    assert (value["message"], value["from"]["name"]) == (text, "Pat Q")


def test_a_callback_with_another_verify_token_is_not_subscribed(sim, callback):
    answer = subscribe(sim, callback, verify_token=f"not-ours-{uuid.uuid4().hex}")
    assert answer.status_code == 400
    assert [h["answered"] for h in callback.handshakes] == [403]


def test_dropped_deliveries_are_lost(sim, callback):
    seed(sim)
    [account] = connect(sim)
    assert subscribe(sim, callback).status_code == 200
    sim.post("/_sim/webhooks", {"drop": 1}, expect=200)
    lost, kept = unique("Lost on the way"), unique("Delivered")
    comment_on_a_new_post(sim, account, lost)
    comment_on_a_new_post(sim, account, kept)
    _, body = callback.deliveries.get(timeout=5)
    assert json.loads(body)["entry"][0]["changes"][0]["value"]["message"] == kept
    # One worker delivers in order, so the first would have arrived before the second.
    assert callback.deliveries.empty()
