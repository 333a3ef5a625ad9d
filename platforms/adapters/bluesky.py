"""Bluesky (AT Protocol / XRPC): platform-apis.md §5.

A channel connects with a handle and an app password (no OAuth). SMC keeps the app
password, encrypted, so a dead refresh token is cured by a new createSession (§5.1);
only a refused login is NeedsReconnect. Login goes to the service (bsky.social); every
other call goes to the PDS the session's didDoc names.

Posts are records SMC names itself: the record key is a TID derived from the publish
attempt, so a retry writes to the same key and cannot create a second post (§0.3).
"""

from __future__ import annotations

import hashlib
import random
from datetime import UTC, datetime, timedelta

import requests

from platforms.adapters.base import (
    CommentBatch,
    ConnectedAccount,
    ConnectRefused,
    Image,
    IncomingComment,
    NeedsReconnect,
    OutgoingPost,
    PlatformAdapter,
    Profile,
    Published,
    Rejected,
    RetryLater,
    TokenExpired,
    backoff,
)
from platforms.adapters.base import Connector as ConnectorBase
from platforms.length import BLUESKY_BYTES, BLUESKY_GRAPHEMES, URL, graphemes

POST = "app.bsky.feed.post"
THREADGATE = "app.bsky.feed.threadgate"
MAX_IMAGES = 4
MAX_IMAGE_BYTES = 2_000_000
MAX_HIDDEN_REPLIES = 300
# InvalidSwap means someone else changed the thread's settings between our read and our
# write; a few re-reads settle any human-speed race.
SWAP_ATTEMPTS = 5
# Notifications can be indexed a little out of order, so each poll re-reads the last
# five minutes before its watermark (§5.4); the caller dedupes by comment id.
POLL_OVERLAP = timedelta(minutes=5)
COMMENT_REASONS = ("reply", "mention", "quote")
# Errors on a normal call that a refreshed session cures (§5.6).
SESSION_ERRORS = {"ExpiredToken", "InvalidToken", "AuthMissing"}

WRONG_PASSWORD = (
    "Bluesky refused the handle or app password. Create an app password in Bluesky's "
    "settings (Privacy and security → App passwords) and try again."
)

_TID_CHARS = "234567abcdefghijklmnopqrstuvwxyz"


def _tid(number: int) -> str:
    return "".join(_TID_CHARS[(number >> (5 * i)) & 31] for i in reversed(range(13)))


def record_key(attempt_key: str, *, now: float) -> str:
    """The post's record key: a TID taken from a hash of the attempt key, so every retry
    of one publish names the same record. Its time bits are then not the post's time;
    that is harmless, as the PDS checks only a TID's syntax and Bluesky orders posts by
    createdAt. Without an attempt key there is nothing to repeat: a TID of now."""
    if attempt_key:
        digest = hashlib.sha256(attempt_key.encode()).digest()
        return _tid(int.from_bytes(digest[:8], "big") >> 1)  # a TID's top bit is 0
    return _tid((int(now * 1_000_000) << 10) | random.randrange(1024))


def link_facets(text: str) -> list[dict]:
    """A #link facet per URL: Bluesky detects no links itself, and facet offsets count
    UTF-8 bytes, not characters (§5.2)."""
    facets = []
    for match in URL.finditer(text):
        start = len(text[: match.start()].encode())
        address = match.group()
        uri = address if "://" in address else "https://" + address
        facets.append(
            {
                "index": {"byteStart": start, "byteEnd": start + len(address.encode())},
                "features": [{"$type": "app.bsky.richtext.facet#link", "uri": uri}],
            }
        )
    return facets


def split_uri(uri: str) -> tuple[str, str, str]:
    """at://did/collection/rkey → (did, collection, rkey)."""
    parts = uri.removeprefix("at://").split("/")
    if not uri.startswith("at://") or len(parts) != 3:
        raise Rejected(f"{uri!r} is not a Bluesky post address (at://…).")
    return parts[0], parts[1], parts[2]


def _iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _when(iso: str) -> datetime:
    return datetime.fromisoformat(iso.replace("Z", "+00:00"))


def _error_of(response: requests.Response) -> tuple[str, str]:
    """(error name, message) from an XRPC error body; empty strings if it has none."""
    try:
        body = response.json()
    except ValueError:
        return "", ""
    if not isinstance(body, dict):
        return "", ""
    return str(body.get("error") or ""), str(body.get("message") or "")


class _SwapLost(Exception):
    """Internal: putRecord's swapRecord no longer matched (400 InvalidSwap)."""


class BlueskyAdapter(PlatformAdapter):
    platform = "bluesky"
    can_delete_comment = False
    max_length = BLUESKY_GRAPHEMES

    def text_length(self, text: str) -> int:
        return graphemes(text)

    @property
    def did(self) -> str:
        return self.credentials.account_id

    # Publish and delete ----------------------------------------------------------------

    def publish(self, post: OutgoingPost) -> Published:
        self._refuse_if_too_long(post.text)
        if len(post.images) > MAX_IMAGES:
            raise Rejected(f"Bluesky takes at most {MAX_IMAGES} images per post.")
        for image in post.images:
            if len(image.data) > MAX_IMAGE_BYTES:
                raise Rejected(
                    f"Bluesky takes images up to 2 MB; {image.alt or 'an image'} is "
                    f"{len(image.data) / 1_000_000:.1f} MB."
                )
        record = self._post_record(post.text)
        if post.images:
            record["embed"] = {
                "$type": "app.bsky.embed.images",
                "images": [self._upload(image) for image in post.images],
            }
        elif post.link:
            # SMC does not fetch the page, so the card shows the address itself; title
            # and description are required by the lexicon.
            record["embed"] = {
                "$type": "app.bsky.embed.external",
                "external": {"uri": post.link, "title": post.link, "description": ""},
            }
        return self._create_post(record, record_key(post.attempt_key, now=self.clock()))

    def find_published(self, post: OutgoingPost) -> Published | None:
        if not post.attempt_key:
            return None  # its record key was random: nothing to look up
        return self._find_post(record_key(post.attempt_key, now=self.clock()))

    def delete(self, platform_post_id: str) -> None:
        did, collection, rkey = split_uri(platform_post_id)
        if did != self.did:
            raise Rejected(
                "This post belongs to another Bluesky account; SMC deletes only "
                "the agency's own posts."
            )
        body = {"repo": did, "collection": collection, "rkey": rkey}
        self._call("POST", "com.atproto.repo.deleteRecord", body=body)

    # Comments -----------------------------------------------------------------------------

    def fetch_comments(self, *, since: str | None) -> CommentBatch:
        """Replies, mentions and quotes from the notifications, newest first, back to
        the watermark `since` (the newest indexedAt of the last batch) less the overlap."""
        stop_at = _when(since) - POLL_OVERLAP if since else None
        watermark = since
        found: dict[str, dict] = {}
        params: dict = {"reasons": list(COMMENT_REASONS), "limit": 100}
        reached = False
        while not reached:
            page = self._call("GET", "app.bsky.notification.listNotifications", params=params)
            notifications = page.get("notifications") or []
            for note in notifications:
                indexed = _when(note["indexedAt"])
                reached = stop_at is not None and indexed <= stop_at
                if reached:
                    break
                if watermark is None or indexed > _when(watermark):
                    watermark = note["indexedAt"]
                found.setdefault(note["uri"], note)  # a page can repeat one as new ones land
            if not notifications or not page.get("cursor"):
                break
            params["cursor"] = page["cursor"]
        comments = [self._comment(note) for note in reversed(found.values())]
        return CommentBatch(comments, cursor=watermark)

    def _comment(self, note: dict) -> IncomingComment:
        record = note.get("record") or {}
        reply = record.get("reply") or {}
        root = (reply.get("root") or {}).get("uri")
        parent = (reply.get("parent") or {}).get("uri")
        if root:
            post_id = root
        elif note.get("reason") == "quote":
            post_id = note.get("reasonSubject") or note["uri"]  # the agency post it quotes
        else:
            post_id = note["uri"]  # a mention outside any thread starts its own
        author = note.get("author") or {}
        return IncomingComment(
            platform_comment_id=note["uri"],
            platform_post_id=post_id,
            parent_id=parent if parent and parent != root else None,
            author_id=author.get("did", ""),
            author_name=author.get("displayName") or author.get("handle", ""),
            author_handle=author.get("handle", ""),
            text=record.get("text", ""),
            # indexedAt, not createdAt: the author's app sets createdAt and may backdate it.
            created_at=_when(note["indexedAt"]),
            raw=note,
        )

    def hide_comment(self, comment_id: str) -> None:
        self._set_hidden(comment_id, hidden=True)

    def unhide_comment(self, comment_id: str) -> None:
        self._set_hidden(comment_id, hidden=False)

    def delete_comment(self, comment_id: str) -> None:
        raise Rejected(
            "Bluesky cannot delete another account's reply. SMC hides it instead: it stays "
            'on Bluesky, folded behind "hidden replies".'
        )

    def reply(self, comment_id: str, text: str, *, attempt_key: str = "") -> Published:
        self._refuse_if_too_long(text)
        comment = self._record(comment_id)
        if comment is None:
            raise Rejected("The comment is no longer on Bluesky, so there is nothing to reply to.")
        parent = {"uri": comment["uri"], "cid": comment["cid"]}
        record = self._post_record(text)
        record["reply"] = {
            "root": (comment["value"].get("reply") or {}).get("root") or parent,
            "parent": parent,
        }
        return self._create_post(record, record_key(attempt_key, now=self.clock()))

    def read_profile(self) -> Profile:
        profile = self._call("GET", "app.bsky.actor.getProfile", params={"actor": self.did})
        return Profile(
            display_name=profile.get("displayName") or profile.get("handle", ""),
            bio=profile.get("description") or "",
            website=profile.get("website") or "",
            raw=profile,
        )

    # Hiding = the root post's threadgate (§5.5) -------------------------------------------------

    def _set_hidden(self, comment_id: str, *, hidden: bool) -> None:
        comment = self._record(comment_id)
        if comment is None:
            raise Rejected("The comment is no longer on Bluesky.")
        root = ((comment["value"].get("reply") or {}).get("root") or {}).get("uri")
        if not root or split_uri(root)[0] != self.did:
            raise Rejected(
                "Bluesky lets an account hide only replies in its own threads; "
                "this post is not a reply to one of the agency's posts."
            )
        rkey = split_uri(root)[2]
        where = {"repo": self.did, "collection": THREADGATE, "rkey": rkey}
        for _ in range(SWAP_ATTEMPTS):
            gate = self._call(
                "GET", "com.atproto.repo.getRecord", params=where, none_on=("RecordNotFound",)
            )
            # Copy the whole record so that other settings, such as who may reply
            # (`allow`), stay exactly as the agency set them.
            fresh = {"$type": THREADGATE, "post": root, "createdAt": _iso(self.clock())}
            value = dict(gate["value"]) if gate else fresh
            listed = list(value.get("hiddenReplies") or [])
            if (comment_id in listed) == hidden:
                return
            listed = listed + [comment_id] if hidden else [u for u in listed if u != comment_id]
            if len(listed) > MAX_HIDDEN_REPLIES:
                raise Rejected(f"Bluesky hides at most {MAX_HIDDEN_REPLIES} replies per thread.")
            value["hiddenReplies"] = listed
            # swapRecord null means "only if there is still no threadgate".
            body = {**where, "swapRecord": gate["cid"] if gate else None, "record": value}
            try:
                self._call("POST", "com.atproto.repo.putRecord", body=body)
                return
            except _SwapLost:
                continue
        raise RetryLater(
            "This thread's reply settings kept changing on Bluesky while SMC saved them.",
            retry_after=backoff(0),
        )

    # Records ------------------------------------------------------------------------------

    def _refuse_if_too_long(self, text: str) -> None:
        length = graphemes(text)
        if length > BLUESKY_GRAPHEMES:
            raise Rejected(
                f"Bluesky allows {BLUESKY_GRAPHEMES} characters; this text has {length}."
            )
        size = len(text.encode())
        if size > BLUESKY_BYTES:
            raise Rejected(
                f"Bluesky allows {BLUESKY_BYTES:,} bytes per post and this text "
                f"takes {size:,} (emoji and accented letters take several)."
            )

    def _post_record(self, text: str) -> dict:
        record = {"$type": POST, "text": text, "createdAt": _iso(self.clock())}
        facets = link_facets(text)
        if facets:
            record["facets"] = facets
        return record

    def _upload(self, image: Image) -> dict:
        uploaded = self._call(
            "POST", "com.atproto.repo.uploadBlob", blob=image.data, mime_type=image.mime_type
        )
        embedded = {"alt": image.alt, "image": uploaded["blob"]}
        if image.width and image.height:
            embedded["aspectRatio"] = {"width": image.width, "height": image.height}
        return embedded

    def _create_post(self, record: dict, rkey: str) -> Published:
        body = {"repo": self.did, "collection": POST, "rkey": rkey, "record": record}
        created = self._call(
            "POST", "com.atproto.repo.createRecord", body=body, none_on=("InternalServerError",)
        )
        if created is not None:
            return Published(created["uri"], self._web_url(rkey))
        # The reference PDS answers a create at a key that already holds a record with a
        # bare 500 (its repo tree refuses the key). Our key names this attempt, so such a
        # record is an earlier try that landed: it is the post.
        landed = self._find_post(rkey)
        if landed is None:
            raise RetryLater(
                "Bluesky failed to save the post (500).", retry_after=backoff(0), ambiguous=True
            )
        return landed

    def _find_post(self, rkey: str) -> Published | None:
        where = {"repo": self.did, "collection": POST, "rkey": rkey}
        found = self._call(
            "GET", "com.atproto.repo.getRecord", params=where, none_on=("RecordNotFound",)
        )
        return Published(found["uri"], self._web_url(rkey)) if found else None

    def _record(self, uri: str) -> dict | None:
        did, collection, rkey = split_uri(uri)
        where = {"repo": did, "collection": collection, "rkey": rkey}
        return self._call(
            "GET", "com.atproto.repo.getRecord", params=where, none_on=("RecordNotFound",)
        )

    def _web_url(self, rkey: str) -> str:
        return f"https://bsky.app/profile/{self.did}/post/{rkey}"

    # XRPC and the session -------------------------------------------------------------------

    def _call(
        self,
        method: str,
        nsid: str,
        *,
        params: dict | None = None,
        body: dict | None = None,
        blob: bytes | None = None,
        mime_type: str = "",
        none_on: tuple[str, ...] = (),
    ) -> dict | None:
        """One XRPC call on the PDS with the session, renewed once if it expired (§5.6).
        An error named in none_on answers None instead of raising."""

        def once():
            headers = {"Authorization": f"Bearer {self.credentials.secrets['access_jwt']}"}
            extra: dict = {"params": params}
            if blob is not None:
                headers["Content-Type"] = mime_type
                extra["data"] = blob
            elif body is not None:
                extra["json"] = body
            response = self.send(
                method, self.url("pds", f"/xrpc/{nsid}"), bucket=nsid, headers=headers, **extra
            )
            if response.ok:
                return response.json() if response.content else {}
            error, message = _error_of(response)
            if error in none_on:
                return None
            if error in SESSION_ERRORS:
                raise TokenExpired
            if error == "InvalidSwap":
                raise _SwapLost
            raise self._failure(response, error, message, write=method == "POST")

        return self.with_refresh(once)

    def _failure(
        self, response: requests.Response, error: str, message: str, *, write: bool
    ) -> Exception:
        status = response.status_code
        if status == 429:
            return RetryLater(
                "Bluesky's rate limit is reached.", retry_after=self._wait_for_reset(response)
            )
        if status >= 500:
            # A write answered with a server error may still have been applied.
            return RetryLater(
                f"Bluesky answered {status} {error}".rstrip() + ".",
                retry_after=backoff(0),
                ambiguous=write,
            )
        if status == 401:
            return NeedsReconnect(
                f"Bluesky refused SMC's session for this channel "
                f"({message or error}). Reconnect the channel."
            )
        return Rejected(f"Bluesky refused: {message or error or status}.")

    def _wait_for_reset(self, response: requests.Response) -> float:
        reset = response.headers.get("RateLimit-Reset")
        try:
            return max(1.0, float(reset) - self.clock()) if reset else backoff(0)
        except ValueError:
            return backoff(0)

    def read_rate_headers(self, response: requests.Response) -> tuple[int, float] | None:
        remaining = response.headers.get("RateLimit-Remaining")
        reset = response.headers.get("RateLimit-Reset")
        if remaining is None or reset is None:
            return None
        try:
            return int(remaining), float(reset)
        except ValueError:
            return None

    def refresh(self) -> None:
        """A new session from the refresh token (which rotates); failing that, from the
        stored app password (§5.1); only a refused login is NeedsReconnect."""
        refresh_jwt = self.credentials.secrets.get("refresh_jwt", "")
        response = self.send(
            "POST",
            self.url("pds", "/xrpc/com.atproto.server.refreshSession"),
            bucket="com.atproto.server.refreshSession",
            headers={"Authorization": f"Bearer {refresh_jwt}"},
        )
        if response.ok:
            self._keep_session(response.json())
            return
        if response.status_code == 429 or response.status_code >= 500:
            raise self._failure(response, *_error_of(response), write=False)
        self._log_in_again()  # revoked, expired or unreadable: the app password decides

    def _log_in_again(self) -> None:
        password = self.credentials.secrets.get("app_password")
        if not password:
            raise NeedsReconnect(
                "SMC holds no app password for this Bluesky channel. Reconnect the channel."
            )
        response = self.send(
            "POST",
            self.url("service", "/xrpc/com.atproto.server.createSession"),
            bucket="com.atproto.server.createSession",
            json={"identifier": self.did, "password": password},
        )
        if response.ok:
            self._keep_session(response.json())
            return
        error, message = _error_of(response)
        if response.status_code == 429 or response.status_code >= 500:
            raise self._failure(response, error, message, write=False)
        raise NeedsReconnect(
            f"Bluesky no longer accepts SMC's app password for @{self.credentials.handle} "
            f"({message or error}); it may have been revoked. Create a new app password in "
            "Bluesky's settings and reconnect the channel."
        )

    def _keep_session(self, session: dict) -> None:
        self.credentials.update_secrets(
            access_jwt=session["accessJwt"], refresh_jwt=session["refreshJwt"]
        )


class Connector(ConnectorBase):
    """Connect a channel with a handle (or DID) and an app password (C1)."""

    platform = "bluesky"

    def login(self, *, identifier: str, app_password: str) -> ConnectedAccount:
        service = self.base_urls["service"].rstrip("/")
        body = {
            "identifier": identifier.strip().removeprefix("@"),
            "password": app_password.strip(),
        }
        try:
            response = self.session.post(
                service + "/xrpc/com.atproto.server.createSession", json=body, timeout=self.timeout
            )
        except (requests.ConnectionError, requests.Timeout):
            raise ConnectRefused(
                f"Bluesky did not answer at {service}. Try again in a few minutes.",
                code="no_answer",
            ) from None
        if response.status_code == 429:
            raise ConnectRefused(
                "Bluesky is limiting sign-in attempts for this handle. Wait "
                "a few minutes and try again.",
                code="rate_limited",
            )
        if response.status_code >= 500:
            raise ConnectRefused(
                f"Bluesky did not answer properly (error "
                f"{response.status_code}). Try again in a few minutes.",
                code="no_answer",
            )
        if not response.ok:
            raise ConnectRefused(WRONG_PASSWORD, code="wrong_password")
        session = response.json()
        pds = _pds_of(session.get("didDoc") or {})
        if pds is None:
            raise ConnectRefused(
                "Bluesky's answer names no server (PDS) for this account, "
                "so SMC cannot post for it.",
                code="no_pds",
            )
        return ConnectedAccount(
            account_id=session["did"],
            handle=session["handle"],
            display_name=self._display_name(pds, session),
            secrets={
                "access_jwt": session["accessJwt"],
                "refresh_jwt": session["refreshJwt"],
                "app_password": body["password"],
            },
            base_urls={"service": service, "pds": pds},
        )

    def _display_name(self, pds: str, session: dict) -> str:
        # The name only labels the channel in SMC; a profile read that fails must not
        # refuse a connection whose session is good, so the handle stands in.
        try:
            response = self.session.get(
                pds + "/xrpc/app.bsky.actor.getProfile",
                params={"actor": session["did"]},
                headers={"Authorization": f"Bearer {session['accessJwt']}"},
                timeout=self.timeout,
            )
        except (requests.ConnectionError, requests.Timeout):
            return session["handle"]
        return (response.json().get("displayName") if response.ok else "") or session["handle"]


def _pds_of(did_doc: dict) -> str | None:
    for service in did_doc.get("service") or []:
        if str(service.get("id", "")).endswith("#atproto_pds"):
            return str(service.get("serviceEndpoint", "")).rstrip("/") or None
    return None
