"""C2: the same cases against every adapter and its simulator, over real HTTP.

Each platform's harness (tests/platforms/harness_<platform>.py) says how to seed an
account and where to aim faults; capabilities the platform lacks must be refused with
Rejected, never faked.
"""

import uuid

import pytest

from platforms.adapters.base import (
    Image,
    NeedsReconnect,
    OutgoingPost,
    Published,
    Rejected,
    RetryLater,
)
from tests.platforms.contract import SEEDED_BIO, SEEDED_WEBSITE

# A 1×1 JPEG.
JPEG = bytes.fromhex(
    "ffd8ffe000104a46494600010100000100010000ffdb004300080606070605080707070909080a0c140d0c0b0b0c"
    "1912130f141d1a1f1e1d1a1c1c20242e2720222c231c1c2837292c30313434341f27393d38323c2e333432ffc0000b"
    "080001000101011100ffc4001f0000010501010101010100000000000000000102030405060708090a0bffc400b5"
    "100002010303020403050504040000017d01020300041105122131410613516107227114328191a1082342b1c115"
    "52d1f02433627282090a161718191a25262728292a3435363738393a434445464748494a535455565758595a6364"
    "65666768696a737475767778797a838485868788898a92939495969798999aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7"
    "b8b9bac2c3c4c5c6c7c8c9cad2d3d4d5d6d7d8d9dae1e2e3e4e5e6e7e8e9eaf1f2f3f4f5f6f7f8f9faffda0008"
    "010100003f00fbd3ffd9"
)


def unique(text="Main St is closed until 6 pm") -> str:
    return f"{text} [{uuid.uuid4().hex[:8]}]"


def a_post(text=None, **fields) -> OutgoingPost:
    return OutgoingPost(text=text or unique(), attempt_key=str(uuid.uuid4()), **fields)


@pytest.mark.capability("no_publish")
def test_a_platform_that_takes_no_posts_refuses_them_unsent(harness, sim, adapter):
    before = len(sim.requests(method="POST"))
    with pytest.raises(Rejected):
        adapter.publish(a_post())
    assert len(sim.requests(method="POST")) == before


# --- Length ---------------------------------------------------------------------------------


def test_length_follows_the_platform_rules(harness, adapter):
    assert harness.length_examples, "give the harness some length examples"
    for text, expected in harness.length_examples:
        assert adapter.text_length(text) == expected, text


# --- Publish and delete ---------------------------------------------------------------------


@pytest.mark.capability("publish")
def test_publish_text_appears_once_on_the_platform(harness, sim, adapter):
    post = a_post()
    published = adapter.publish(post)
    assert isinstance(published, Published) and published.platform_post_id
    assert [i["account_id"] is not None for i in sim.items_with_text(post.text)] == [True]


@pytest.mark.capability("publish")
def test_publish_with_an_image(harness, sim, adapter):
    post = a_post(images=(Image(JPEG, "image/jpeg", alt="Detour map", width=1, height=1),))
    adapter.publish(post)
    assert len(sim.items_with_text(post.text)) == 1


@pytest.mark.capability("publish")
def test_a_too_long_post_is_rejected_before_it_is_sent(harness, sim, adapter):
    before = len(sim.requests(method="POST"))
    with pytest.raises(Rejected):
        adapter.publish(a_post("x" * (adapter.max_length + 1)))
    assert len(sim.requests(method="POST")) == before


@pytest.mark.capability("publish")
def test_delete_removes_the_post_and_a_second_delete_is_fine(harness, sim, adapter):
    post = a_post()
    published = adapter.publish(post)
    adapter.delete(published.platform_post_id)
    assert sim.items_with_text(post.text) == []
    adapter.delete(published.platform_post_id)  # already gone counts as done


# --- Comments -------------------------------------------------------------------------------


def test_comments_arrive_and_the_cursor_moves_on(harness, sim, adapter):
    target = harness.commentable_post(sim, adapter)
    first, second = unique("When will Main St reopen?"), unique("Is the detour open?")
    harness.inject_comment(sim, post_id=target, text=first, author="Pat Q")
    harness.inject_comment(sim, post_id=target, text=second, author="Lee R")
    batch = adapter.fetch_comments(since=None)
    texts = {c.text: c for c in batch.comments}
    assert first in texts and second in texts
    assert texts[first].author_name == "Pat Q"
    assert texts[first].platform_post_id == target
    assert batch.cursor
    third = unique("Thanks for the update")
    harness.inject_comment(sim, post_id=target, text=third, author="Sam T")
    later = adapter.fetch_comments(since=batch.cursor)
    assert third in {c.text for c in later.comments}


def _one_comment(harness, sim, adapter):
    target = harness.commentable_post(sim, adapter)
    text = unique("a public comment")
    harness.inject_comment(sim, post_id=target, text=text, author="Pat Q")
    [comment] = [c for c in adapter.fetch_comments(since=None).comments if c.text == text]
    return comment


def _sim_item(sim, comment_text):
    [item] = [i for i in sim.published()["items"] if i["text"] == comment_text]
    return item


def test_hide_and_unhide_a_comment(harness, sim, adapter):
    comment = _one_comment(harness, sim, adapter)
    if not adapter.can_hide:
        with pytest.raises(Rejected):
            adapter.hide_comment(comment.platform_comment_id)
        return
    adapter.hide_comment(comment.platform_comment_id)
    assert _sim_item(sim, comment.text)["hidden"] is True
    adapter.unhide_comment(comment.platform_comment_id)
    assert _sim_item(sim, comment.text)["hidden"] is False


def test_delete_a_comment(harness, sim, adapter):
    comment = _one_comment(harness, sim, adapter)
    if not adapter.can_delete_comment:
        with pytest.raises(Rejected):
            adapter.delete_comment(comment.platform_comment_id)
        return
    adapter.delete_comment(comment.platform_comment_id)
    item = _sim_item(sim, comment.text)
    assert item["deleted"] or item["moderation_status"] == "rejected"


def test_reply_to_a_comment(harness, sim, adapter):
    comment = _one_comment(harness, sim, adapter)
    text = unique("Thanks, Pat. The detour is open to trucks.")
    reply = adapter.reply(comment.platform_comment_id, text, attempt_key=str(uuid.uuid4()))
    assert reply.platform_post_id
    [item] = sim.items_with_text(text)
    assert item["parent_id"] is not None and item["account_id"] is not None


def test_read_profile(harness, adapter):
    profile = adapter.read_profile()
    assert "Not monitored 24/7" in profile.bio
    assert SEEDED_WEBSITE in (profile.website + " " + profile.bio)
    assert SEEDED_BIO.startswith("Official account")


# --- Errors ---------------------------------------------------------------------------------


def test_a_server_error_is_retryable(harness, sim, adapter):
    method, path = harness.profile_call
    sim.fault(method, path, mode="error", status=503)
    with pytest.raises(RetryLater) as caught:
        adapter.read_profile()
    assert caught.value.retry_after and not caught.value.ambiguous


def test_a_rate_limit_waits_for_the_platform_reset(harness, sim, adapter):
    method, path = harness.profile_call
    sim.fault(method, path, mode="rate_limit", reset_in_s=120)
    with pytest.raises(RetryLater) as caught:
        adapter.read_profile()
    low, high = harness.expected_rate_wait(120)
    assert low <= caught.value.retry_after <= high


@pytest.mark.capability("rate_headers")  # YouTube sends none: its adapter counts quota
def test_rate_limit_headers_are_honoured_before_a_429(harness, sim, adapter):
    method, path = harness.profile_call
    sim.post("/_sim/limits", {"path": path, "limit": 2, "window_s": 600}, expect=204)
    adapter.read_profile()
    adapter.read_profile()
    sent = len(sim.requests())
    with pytest.raises(RetryLater) as caught:
        adapter.read_profile()
    assert len(sim.requests()) == sent, "the third call should not have been sent"
    assert 500 <= caught.value.retry_after <= 605


def test_an_expired_token_is_refreshed_silently_or_needs_reconnect(harness, sim, adapter,
                                                                   credentials):  # fmt: skip
    sim.post("/_sim/tokens", {"account_id": credentials.settings["sim_account_id"],
                              "action": "expire"}, expect=204)  # fmt: skip
    changed = []
    credentials.on_secrets_changed = changed.append
    if harness.refreshes:
        assert "Not monitored" in adapter.read_profile().bio
        assert changed, "the refreshed secrets must be handed back for storage"
    else:
        with pytest.raises(NeedsReconnect):
            adapter.read_profile()


def test_a_revoked_credential_needs_reconnect(harness, sim, adapter, credentials):
    sim.post("/_sim/tokens", {"account_id": credentials.settings["sim_account_id"],
                              "action": "revoke"}, expect=204)  # fmt: skip
    with pytest.raises(NeedsReconnect):
        adapter.read_profile()


def test_a_platform_that_hangs_is_retryable(harness, sim, adapter):
    method, path = harness.profile_call
    sim.fault(method, path, mode="hang", seconds=3)
    with pytest.raises(RetryLater):
        adapter.read_profile()


@pytest.mark.capability("publish")
def test_a_publish_that_landed_without_an_answer_is_found_not_resent(harness, sim, adapter):
    method, path = harness.publish_call
    sim.fault(method, path, mode="drop_after_commit")
    post = a_post()
    with pytest.raises(RetryLater) as caught:
        adapter.publish(post)
    assert caught.value.ambiguous
    found = adapter.find_published(post)
    assert found is not None and found.platform_post_id
    assert len(sim.items_with_text(post.text)) == 1


@pytest.mark.capability("publish")
def test_a_publish_that_never_landed_is_not_found(harness, sim, adapter):
    method, path = harness.publish_call
    sim.fault(method, path, mode="drop_before_commit")
    post = a_post()
    with pytest.raises(RetryLater):
        adapter.publish(post)
    assert adapter.find_published(post) is None
    assert sim.items_with_text(post.text) == []


def test_secrets_never_show_in_repr(credentials, adapter):
    for secret in credentials.secrets.values():
        assert secret not in repr(credentials) and secret not in repr(adapter)
