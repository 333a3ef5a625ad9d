"""YouTube beyond the shared contract: Google's connect flow, moderation rules that only
YouTube has, held comments, long reply threads and the daily quota (platform-apis.md §3).

Everything runs over real HTTP against the YouTube simulator.
"""

import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

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
from platforms.adapters.youtube import SCOPE, Connector, YouTubeAdapter, next_pacific_midnight
from platforms.simulators.core import SIM_CLIENT_ID, SIM_CLIENT_SECRET
from tests.platforms.harness_youtube import HARNESS, seconds_to_pacific_midnight

REDIRECT = "https://smc.example.org/channels/connect/youtube/callback"
READ_ONLY = "https://www.googleapis.com/auth/youtube.readonly"


@pytest.fixture
def harness():
    """This module is YouTube's alone, whatever SMC_CONTRACT_PLATFORMS chooses."""
    return HARNESS


@pytest.fixture
def connector(sim):
    client = OAuthClient(SIM_CLIENT_ID, SIM_CLIENT_SECRET, REDIRECT)
    return Connector(base_urls=HARNESS.base_urls(sim.base_url), client=client)


def unique(text: str) -> str:
    return f"{text} [{uuid.uuid4().hex[:8]}]"


def consent(authorize_url: str) -> str:
    """The browser's part: Google's page answers at once with a redirect back to SMC."""
    response = requests.get(authorize_url, allow_redirects=False, timeout=5)
    assert response.status_code == 302, response.text
    return response.headers["Location"]


def query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def a_video(sim, adapter) -> str:
    return HARNESS.commentable_post(sim, adapter)


def comment_on(sim, target: str, text: str, author: str = "Pat Q", **fields) -> dict:
    return HARNESS.inject_comment(sim, post_id=target, text=text, author=author, **fields)


def fetched(adapter, since=None) -> dict:
    return {c.text: c for c in adapter.fetch_comments(since=since).comments}


def sim_item(sim, item_id: str) -> dict:
    [item] = [i for i in sim.published()["items"] if i["id"] == item_id]
    return item


def logged(sim, method: str | None = None, path: str | None = None) -> list[dict]:
    """The simulator's request log. SimClient.requests cannot filter by path: its `path`
    collides with the first argument of SimClient.get."""
    params = {k: v for k, v in (("method", method), ("path", path)) if v}
    response = sim.http.get(sim.base_url + "/_sim/requests", params=params, timeout=10)
    response.raise_for_status()
    return response.json()


def api(sim, credentials, method: str, path: str, **params) -> requests.Response:
    """A Data API call made by hand, to see the simulator's own answers."""
    headers = {"Authorization": f"Bearer {credentials.secrets['access_token']}"}
    return requests.request(method, sim.base_url + path, params=params, headers=headers, timeout=5)


def within_a_pacific_day(wait: float) -> bool:
    until_midnight = seconds_to_pacific_midnight()
    return until_midnight - 5 <= wait <= until_midnight + 5


# --- Connecting (§3.1) -------------------------------------------------------------------------


def test_connecting_a_channel_end_to_end(sim, connector):
    seeded = sim.seed_account(handle="metropolice", display_name="Metro Police")
    start = connector.start(state="state-1")
    asked = query(start.authorize_url)
    assert asked["scope"] == SCOPE and asked["redirect_uri"] == REDIRECT
    assert asked["access_type"] == "offline" and asked["prompt"] == "consent"
    assert asked["include_granted_scopes"] == "true" and asked["state"] == "state-1"
    assert asked["code_challenge_method"] == "S256" and start.code_verifier

    callback = consent(start.authorize_url)
    assert callback.startswith(REDIRECT) and query(callback)["scope"] == SCOPE
    [account] = connector.finish(callback_url=callback, start=start)

    assert account.account_id == seeded["platform_id"] and account.account_id.startswith("UC")
    assert account.handle == "Metro Police"
    assert account.secrets["access_token"].startswith("ya29.")
    assert account.secrets["refresh_token"].startswith("1//")
    [exchange] = logged(sim, method="POST", path="/token")
    assert exchange["body"]["grant_type"] == "authorization_code"
    assert exchange["body"]["code_verifier"] == "[redacted]"
    # What the connector hands over is all an adapter needs, refresh included.
    credentials = ChannelCredentials(
        platform="youtube",
        account_id=account.account_id,
        base_urls=HARNESS.base_urls(sim.base_url),
        settings=account.settings,
        secrets=account.secrets,
    )
    sim.post("/_sim/tokens", {"account_id": seeded["account_id"], "action": "expire"}, expect=204)
    assert YouTubeAdapter(credentials).read_profile().display_name == "Metro Police"


def test_the_code_is_bound_to_its_pkce_verifier(sim, connector):
    sim.seed_account(handle="metropolice")
    start = connector.start(state="state-1")
    callback = consent(start.authorize_url)
    forged = ConnectStart(authorize_url="", state="state-1", code_verifier="x" * 64)
    with pytest.raises(ConnectRefused) as refused:
        connector.finish(callback_url=callback, start=forged)
    assert "Invalid code verifier" in refused.value.message


def test_a_declined_consent_is_refused(sim, connector):
    seeded = sim.seed_account(handle="metropolice")
    sim.post("/_sim/oauth/next", {"account_id": seeded["account_id"], "deny": True}, expect=204)
    start = connector.start(state="state-1")
    callback = consent(start.authorize_url)
    assert query(callback) == {"error": "access_denied", "state": "state-1"}
    with pytest.raises(ConnectRefused) as refused:
        connector.finish(callback_url=callback, start=start)
    assert refused.value.message == (
        "Google did not give SMC access: the person connecting declined. Connect again and "
        "allow SMC."
    )
    assert logged(sim, path="/token") == []


def test_an_answer_for_another_attempt_is_refused(sim, connector):
    sim.seed_account(handle="metropolice")
    start = connector.start(state="state-1")
    callback = consent(start.authorize_url)
    other = ConnectStart(authorize_url="", state="state-2", code_verifier=start.code_verifier)
    with pytest.raises(ConnectRefused) as refused:
        connector.finish(callback_url=callback, start=other)
    assert refused.value.code == "state_mismatch"
    assert logged(sim, path="/token") == [], "a code of unknown origin is never exchanged"


def test_without_the_consent_screen_there_is_no_lasting_access(sim, connector):
    sim.seed_account(handle="metropolice")
    start = connector.start(state="state-1")
    parts = urlsplit(start.authorize_url)
    asked = {k: v for k, v in query(start.authorize_url).items() if k != "prompt"}
    callback = consent(urlunsplit(parts._replace(query=urlencode(asked))))
    with pytest.raises(ConnectRefused) as refused:
        connector.finish(callback_url=callback, start=start)
    assert refused.value.code == "no_refresh_token" and "consent screen" in refused.value.message


def test_a_sign_in_address_without_https_is_refused(connector, monkeypatch):
    # In production (SMC_HTTPS on) oauthlib is not allowed plain HTTP at all.
    monkeypatch.delenv("OAUTHLIB_INSECURE_TRANSPORT", raising=False)
    connector.base_urls = {**connector.base_urls, "accounts": "http://accounts.example.org"}
    with pytest.raises(ConnectRefused) as refused:
        connector.start(state="state-1")
    assert refused.value.code == "insecure"


def test_google_not_answering_is_refused(connector):
    connector.base_urls = {**connector.base_urls, "oauth": "http://127.0.0.1:9"}
    callback = f"{REDIRECT}?state=state-1&code=some-code"
    start = ConnectStart(authorize_url="", state="state-1", code_verifier="v" * 64)
    with pytest.raises(ConnectRefused) as refused:
        connector.finish(callback_url=callback, start=start)
    assert refused.value.code == "no_answer"


# --- Posts: none (§3.2) ------------------------------------------------------------------------


def test_publish_is_refused_without_calling_youtube(sim, adapter):
    post = OutgoingPost(text="Main St is closed until 6 pm", attempt_key="k1")
    sent = len(sim.requests())
    with pytest.raises(Rejected, match="YouTube accepts no posts from SMC"):
        adapter.publish(post)
    assert adapter.find_published(post) is None
    assert len(sim.requests()) == sent


# --- Fetching (§3.4) ---------------------------------------------------------------------------


def test_held_and_likely_spam_comments_are_fetched_hidden(sim, adapter):
    video = a_video(sim, adapter)
    shown, held, spam = unique("Shown"), unique("Held"), unique("Spam")
    comment_on(sim, video, shown)
    held_thread = comment_on(sim, video, held, moderation_status="heldForReview")
    comment_on(sim, video, spam, author="Bot", moderation_status="likelySpam")
    answer = unique("A reply in a held thread")
    comment_on(sim, held_thread["id"], answer, author="Lee R")
    comments = fetched(adapter)
    assert comments[shown].is_hidden is False
    assert comments[held].is_hidden is True and comments[spam].is_hidden is True
    assert comments[answer].is_hidden is True and comments[answer].parent_id == held_thread["id"]
    statuses = {
        r["query"]["moderationStatus"]
        for r in logged(sim, method="GET", path="/youtube/v3/commentThreads")
    }
    assert statuses == {"published", "heldForReview", "likelySpam"}


def test_only_the_owner_may_list_held_comments(sim, adapter, credentials):
    video = a_video(sim, adapter)
    stranger = HARNESS.credentials(sim, sim.base_url, handle="stranger", display_name="Stranger")
    held = {"part": "snippet", "videoId": video, "moderationStatus": "heldForReview"}
    answer = api(sim, stranger, "GET", "/youtube/v3/commentThreads", **held)
    assert answer.status_code == 403
    assert answer.json()["error"]["errors"][0]["reason"] == "forbidden"
    assert api(sim, credentials, "GET", "/youtube/v3/commentThreads", **held).status_code == 200


def test_replies_beyond_the_inline_ones_are_read_from_comments_list(sim, adapter, credentials):
    video = a_video(sim, adapter)
    question = comment_on(sim, video, unique("When does the road reopen?"))
    answers = [unique(f"Reply {n}") for n in range(8)]
    for n, text in enumerate(answers):
        comment_on(sim, question["id"], text, author=f"Neighbour {n}")
    thread = api(
        sim, credentials, "GET", "/youtube/v3/commentThreads", part="snippet,replies", videoId=video
    ).json()["items"][0]
    assert thread["snippet"]["totalReplyCount"] == 8 and len(thread["replies"]["comments"]) == 5

    comments = fetched(adapter)
    assert all(comments[text].parent_id == question["id"] for text in answers)
    assert all(comments[text].platform_post_id == video for text in answers)
    assert all(
        comments[text].platform_comment_id.startswith(question["id"] + ".") for text in answers
    )
    [listed] = logged(sim, method="GET", path="/youtube/v3/comments")
    assert listed["query"]["parentId"] == question["id"]


def test_every_page_of_threads_is_read(sim, adapter):
    video = a_video(sim, adapter)
    texts = [unique(f"Comment {n}") for n in range(101)]
    for text in texts:
        comment_on(sim, video, text)
    assert set(texts) <= set(fetched(adapter))
    published = [
        r
        for r in logged(sim, method="GET", path="/youtube/v3/commentThreads")
        if r["query"]["moderationStatus"] == "published"
    ]
    assert len(published) == 2 and "pageToken" in published[1]["query"]


def test_reading_stops_at_the_watermark_with_five_minutes_of_overlap(sim, adapter):
    video = a_video(sim, adapter)
    now = datetime.now(UTC)
    since = now - timedelta(minutes=30)
    old, late, new = unique("Old"), unique("Indexed late"), unique("New")
    comment_on(sim, video, old, created_at=(since - timedelta(hours=2)).isoformat())
    comment_on(sim, video, late, created_at=(since - timedelta(minutes=3)).isoformat())
    comment_on(sim, video, new)
    batch = adapter.fetch_comments(since=since.isoformat().replace("+00:00", "Z"))
    texts = {c.text for c in batch.comments}
    assert new in texts and late in texts and old not in texts
    assert datetime.fromisoformat(batch.cursor) >= now.replace(microsecond=0)


# --- Moderating (§3.5) -------------------------------------------------------------------------


def test_a_rejected_comment_cannot_be_released(sim, adapter):
    video = a_video(sim, adapter)
    thread = comment_on(sim, video, unique("Abusive"))
    adapter.delete_comment(thread["id"])
    with pytest.raises(Rejected) as refused:
        adapter.unhide_comment(thread["id"])
    assert refused.value.reason == (
        "A rejected comment cannot be set back to another moderation status."
    )
    assert sim_item(sim, thread["id"])["moderation_status"] == "rejected"
    adapter.delete_comment(thread["id"])  # rejecting again is no change, and fine


def test_rejecting_a_thread_hides_its_replies(sim, adapter):
    video = a_video(sim, adapter)
    thread = comment_on(sim, video, unique("Abusive"))
    piling_on = unique("Piling on")
    answer = comment_on(sim, thread["id"], piling_on, author="Lee R")
    adapter.delete_comment(thread["id"])
    assert sim_item(sim, answer["id"])["hidden"] is True
    assert piling_on not in fetched(adapter)


def test_ban_author_goes_only_with_rejected(sim, adapter, credentials):
    video = a_video(sim, adapter)
    thread = comment_on(sim, video, unique("Spam"), author="Spammer")
    moderate = "/youtube/v3/comments/setModerationStatus"
    held = api(
        sim,
        credentials,
        "POST",
        moderate,
        id=thread["id"],
        moderationStatus="heldForReview",
        banAuthor="true",
    )
    assert held.status_code == 400
    error = held.json()["error"]
    assert error["code"] == 400 and error["status"] == "INVALID_ARGUMENT"
    assert error["errors"][0]["reason"] == "banWithoutReject"
    assert error["errors"][0]["domain"] == "youtube.comment"
    assert sim_item(sim, thread["id"])["moderation_status"] == "published"

    banned = api(
        sim,
        credentials,
        "POST",
        moderate,
        id=thread["id"],
        moderationStatus="rejected",
        banAuthor="true",
    )
    assert banned.status_code == 204
    again = unique("More spam")
    comment_on(sim, video, again, author="Spammer")
    assert again not in fetched(adapter), "a banned author's comments are rejected on arrival"


def test_only_the_channel_owner_moderates(sim, adapter):
    video = a_video(sim, adapter)
    thread = comment_on(sim, video, unique("Question"))
    stranger = HARNESS.credentials(sim, sim.base_url, handle="stranger", display_name="Stranger")
    with pytest.raises(Rejected):
        YouTubeAdapter(stranger).hide_comment(thread["id"])
    assert sim_item(sim, thread["id"])["moderation_status"] == "published"


def test_a_missing_permission_needs_reconnect(sim, harness):
    credentials = harness.credentials(sim, sim.base_url, scopes=[READ_ONLY])
    adapter = YouTubeAdapter(credentials)
    thread = comment_on(sim, a_video(sim, adapter), unique("Question"))
    assert adapter.read_profile().display_name == "Metro Police"  # reading is allowed
    with pytest.raises(NeedsReconnect):
        adapter.hide_comment(thread["id"])


# --- Replies (§3.3, §3.5, §0.3) ----------------------------------------------------------------


def test_smc_deletes_its_own_replies_only(sim, adapter):
    video = a_video(sim, adapter)
    thread = comment_on(sim, video, unique("Question"))
    text = unique("Thanks, Pat.")
    reply = adapter.reply(thread["id"], text)
    assert reply.platform_post_id.startswith(thread["id"] + ".")
    assert text not in fetched(adapter), "the agency's own replies are not incoming comments"
    adapter.delete(reply.platform_post_id)
    assert sim_item(sim, reply.platform_post_id)["deleted"] is True
    adapter.delete(reply.platform_post_id)  # already gone counts as done
    with pytest.raises(Rejected):
        adapter.delete(thread["id"])  # someone else's: rejected is the way (delete_comment)


def test_a_reply_to_a_reply_joins_its_thread(sim, adapter):
    video = a_video(sim, adapter)
    thread = comment_on(sim, video, unique("Question"))
    answer = comment_on(sim, thread["id"], unique("Me too"), author="Lee R")
    reply = adapter.reply(answer["id"], unique("We are on it."))
    assert sim_item(sim, reply.platform_post_id)["parent_id"] == thread["id"]


def test_a_reply_whose_answer_was_lost_is_not_sent_twice(sim, adapter):
    video = a_video(sim, adapter)
    thread = comment_on(sim, video, unique("Question"))
    text = unique("The detour is open.")
    sim.fault("POST", "/youtube/v3/comments", mode="drop_after_commit")
    with pytest.raises(RetryLater) as lost:
        adapter.reply(thread["id"], text)
    assert lost.value.ambiguous
    again = adapter.reply(thread["id"], text)
    [item] = sim.items_with_text(text)
    assert again.platform_post_id == item["id"]
    assert len(logged(sim, method="POST", path="/youtube/v3/comments")) == 1


def test_a_too_long_reply_is_refused_before_it_is_sent(sim, adapter):
    video = a_video(sim, adapter)
    thread = comment_on(sim, video, unique("Question"))
    sent = len(sim.requests())
    with pytest.raises(Rejected):
        adapter.reply(thread["id"], "x" * 10_001)
    assert len(sim.requests()) == sent


# --- Quota and tokens (§3.6, §3.1) -------------------------------------------------------------


def test_the_quota_counter_refuses_before_the_budget_is_spent(sim, credentials):
    credentials.settings["daily_quota"] = 120
    adapter = YouTubeAdapter(credentials)
    thread = comment_on(sim, a_video(sim, adapter), unique("Question"))
    adapter.hide_comment(thread["id"])  # 50 units
    adapter.unhide_comment(thread["id"])  # 100
    sent = len(sim.requests())
    with pytest.raises(RetryLater) as refused:
        adapter.hide_comment(thread["id"])  # 150 would overrun 120
    assert len(sim.requests()) == sent, "the refused call must not be sent"
    assert within_a_pacific_day(refused.value.retry_after)
    adapter.read_profile()  # a 1-unit read still fits the day


def test_quota_exceeded_stops_every_call_until_midnight_pacific(sim, adapter):
    sim.post("/_sim/limits", {"path": "/youtube/v3", "limit": 2, "window_s": 86400}, expect=204)
    adapter.read_profile()
    adapter.read_profile()
    with pytest.raises(RetryLater) as exceeded:
        adapter.read_profile()  # Google: 403 quotaExceeded
    assert within_a_pacific_day(exceeded.value.retry_after)
    sent = len(sim.requests())
    with pytest.raises(RetryLater):
        adapter.read_profile()
    assert len(sim.requests()) == sent, "the rate book stops calls until Google's day ends"
    # Google's day ends at midnight Pacific, and with it the simulator's count.
    sim.post("/_sim/clock", {"advance_s": seconds_to_pacific_midnight() + 60}, expect=200)
    fresh = YouTubeAdapter(adapter.credentials)
    assert fresh.read_profile().display_name == "Metro Police"


def test_the_quota_day_ends_at_midnight_pacific_across_dst():
    # 2026-03-08 01:30 PST, half an hour before clocks spring forward: the day is 23 hours.
    spring = datetime(2026, 3, 8, 9, 30, tzinfo=UTC).timestamp()
    assert next_pacific_midnight(spring) == datetime(2026, 3, 9, 7, tzinfo=UTC).timestamp()
    # 2026-11-01 23:59 PST, after clocks fell back: midnight is UTC−8 again.
    autumn = datetime(2026, 11, 2, 7, 59, tzinfo=UTC).timestamp()
    assert next_pacific_midnight(autumn) == datetime(2026, 11, 2, 8, tzinfo=UTC).timestamp()


def test_a_refresh_keeps_the_refresh_token(sim, adapter, credentials):
    before = dict(credentials.secrets)
    stored = []
    credentials.on_secrets_changed = stored.append
    sim.post(
        "/_sim/tokens",
        {"account_id": credentials.settings["sim_account_id"], "action": "expire"},
        expect=204,
    )
    adapter.read_profile()
    assert credentials.secrets["access_token"] != before["access_token"]
    assert credentials.secrets["access_token"].startswith("ya29.")
    assert credentials.secrets["refresh_token"] == before["refresh_token"]
    assert stored == [credentials.secrets]
    [refresh] = logged(sim, method="POST", path="/token")
    assert refresh["body"]["grant_type"] == "refresh_token"
    # The same refresh token works again when the new access token expires in turn.
    sim.post(
        "/_sim/tokens",
        {"account_id": credentials.settings["sim_account_id"], "action": "expire"},
        expect=204,
    )
    assert adapter.read_profile().display_name == "Metro Police"


def test_a_revoked_grant_needs_reconnect(sim, adapter, credentials):
    revoked = requests.post(
        sim.base_url + "/revoke", params={"token": credentials.secrets["refresh_token"]}, timeout=5
    )
    assert revoked.status_code == 200
    with pytest.raises(NeedsReconnect, match="Token has been expired or revoked"):
        adapter.read_profile()  # the access token went with the grant; refresh fails too


# --- Errors (§3.6) and the simulator's own shapes ----------------------------------------------


def google_error_body(status: int, reason: str, message: str) -> dict:
    return {
        "error": {
            "code": status,
            "message": message,
            "errors": [{"message": message, "domain": "youtube.comment", "reason": reason}],
            "status": "PERMISSION_DENIED",
        }
    }


@pytest.mark.parametrize(
    ("status", "reason", "expected"),
    [
        (403, "rateLimitExceeded", RetryLater),
        (429, "userRateLimitExceeded", RetryLater),
        (403, "commentsDisabled", Rejected),
        (403, "insufficientPermissions", NeedsReconnect),
    ],
)
def test_googles_refusals_are_classified(sim, adapter, status, reason, expected):
    thread = comment_on(sim, a_video(sim, adapter), unique("Question"))
    message = f"Google says {reason}."
    sim.fault(
        "POST",
        "/youtube/v3/comments/setModerationStatus",
        mode="platform_error",
        status=status,
        body=google_error_body(status, reason, message),
    )
    with pytest.raises(expected) as refused:
        adapter.hide_comment(thread["id"])
    if expected is RetryLater:
        assert 4 <= refused.value.retry_after <= 6, "backoff: 5 s ± 20 %"
    if expected is Rejected:
        assert refused.value.reason == message


def test_the_simulator_answers_in_googles_shapes(sim, adapter, credentials):
    video = a_video(sim, adapter)
    comment_on(sim, video, "Tom & Jerry <3\nsecond line")
    threads = api(
        sim, credentials, "GET", "/youtube/v3/commentThreads", part="snippet", videoId=video
    ).json()
    assert threads["kind"] == "youtube#commentThreadListResponse"
    top = threads["items"][0]["snippet"]["topLevelComment"]["snippet"]
    assert top["textDisplay"] == "Tom &amp; Jerry &lt;3<br>second line"  # html is the default
    assert "textOriginal" not in top, "only the author is given the original text"
    too_many = api(
        sim,
        credentials,
        "GET",
        "/youtube/v3/commentThreads",
        part="snippet",
        videoId=video,
        maxResults=101,
    )
    assert too_many.status_code == 400
    assert too_many.json()["error"]["errors"][0]["location"] == "maxResults"
    unknown = requests.get(
        sim.base_url + "/youtube/v3/channels",
        params={"part": "id", "mine": "true"},
        headers={"Authorization": "Bearer ya29.unknown"},
        timeout=5,
    )
    assert unknown.status_code == 401
    assert unknown.json()["error"]["errors"][0]["reason"] == "authError"
    assert unknown.json()["error"]["status"] == "UNAUTHENTICATED"
