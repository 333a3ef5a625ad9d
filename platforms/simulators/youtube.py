"""YouTube (Data API v3) and Google sign-in, as SMC uses them (platform-apis.md §3, §7).

One simulator plays three Google hosts: accounts.google.com (the consent page),
oauth2.googleapis.com (tokens) and youtube.googleapis.com (the Data API). SMC only
moderates on YouTube, so the API part is channels, comment threads and comments.

Choices the documentation leaves open, made here once:
- Quota is counted per Google project; the simulator has one OAuth client, so one
  project. `POST /_sim/limits {"path": "/youtube/v3", "limit": N, ...}` lowers the daily
  budget (the window is ignored: Google's day always ends at midnight Pacific).
- The `rate_limit` fault answers 403 quotaExceeded: it is the limit SMC actually meets
  (10,000 units are 200 moderation actions), and YouTube sends no reset time, so a
  fault's reset_in_s could not be told to the client by either of Google's answers.
- Replies are one level deep: a reply to a reply is refused (operationNotSupported),
  while an injected public reply to a reply joins the thread, as in YouTube's own UI.
- totalReplyCount counts the replies the caller may see (the owner also sees held ones),
  so that it always agrees with what comments.list returns to the same caller.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from platforms.simulators.core import (
    SIM_CLIENT_ID,
    SIM_CLIENT_SECRET,
    Account,
    Item,
    SimError,
    SimRequest,
    SimResponse,
    Simulator,
    add_query,
    route,
)

FORCE_SSL = "https://www.googleapis.com/auth/youtube.force-ssl"
READ_SCOPES = {
    FORCE_SSL,
    "https://www.googleapis.com/auth/youtube",
    "https://www.googleapis.com/auth/youtube.readonly",
}
ACCESS_LIFETIME = 3599
DAILY_QUOTA = 10_000
QUOTA_LIMIT_PATH = "/youtube/v3"
LIST_COST, WRITE_COST = 1, 50
MAX_COMMENT_LENGTH = 10_000
INLINE_REPLIES = 5
MAX_IDS = 50
PACIFIC = ZoneInfo("America/Los_Angeles")
LISTED_STATUSES = ("published", "heldForReview", "likelySpam")
SETTABLE_STATUSES = ("heldForReview", "published", "rejected")
# Google's channel parts; those not simulated are accepted and left out of the answer.
CHANNEL_PARTS = {
    "auditDetails", "brandingSettings", "contentDetails", "contentOwnerDetails", "id",
    "localizations", "snippet", "statistics", "status", "topicDetails",
}  # fmt: skip
_ID_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
# The last character of a video id carries only 4 of its 6 bits.
_VIDEO_LAST = "AEIMQUYcgkosw048"
_STATUS_NAMES = {
    400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
    409: "ABORTED", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE",
}  # fmt: skip


def google_error(
    status: int, reason: str, message: str, *, domain: str = "global", **detail: str
) -> SimError:
    """Google's JSON error body, the same on every API it serves."""
    body = {
        "error": {
            "code": status,
            "message": message,
            "errors": [{"message": message, "domain": domain, "reason": reason, **detail}],
            "status": _STATUS_NAMES.get(status, "UNKNOWN"),
        }
    }
    headers = {}
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="https://accounts.google.com/"'
    return SimError(SimResponse.json(status, body, headers))


def comment_error(status: int, reason: str, message: str) -> SimError:
    return google_error(status, reason, message, domain="youtube.comment")


def parameter_error(reason: str, message: str, name: str, domain: str = "global") -> SimError:
    return google_error(
        400, reason, message, domain=domain, location=name, locationType="parameter"
    )


def oauth_error(status: int, error: str, description: str) -> SimError:
    """oauth2.googleapis.com answers in RFC 6749's flat shape, not the API's."""
    return SimError(SimResponse.json(status, {"error": error, "error_description": description}))


def _iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _etag(resource: dict) -> str:
    digest = hashlib.sha1(json.dumps(resource, sort_keys=True).encode()).digest()  # noqa: S324
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


class YouTubeSimulator(Simulator):
    platform = "youtube"

    def reset_platform(self) -> None:
        # Units spent per Pacific calendar day (one project: the simulator's one client).
        self.quota_spent: dict[str, int] = {}
        # Members of the public: handle → their UC… channel id, stable across comments.
        self.people: dict[str, str] = {}
        # Top-level comment id → its replies, so a page of threads is not a scan per thread.
        self.thread_replies: dict[str, list[Item]] = {}

    # -- ids ------------------------------------------------------------------------------------

    def _chars(self, count: int) -> str:
        return "".join(self.rng.choice(_ID_CHARS) for _ in range(count))

    def _channel_id(self) -> str:
        return "UC" + self._chars(22)

    # -- authentication, scopes and quota ---------------------------------------------------------

    def _caller(self, request: SimRequest, *, write: bool, cost: int) -> Account:
        state, token = self.token_state(request.bearer_token)
        if state == "missing":
            raise google_error(
                401, "required", "Login Required.", location="Authorization", locationType="header"
            )
        if state != "ok":
            raise self._invalid_credentials()
        allowed = {FORCE_SSL} if write else READ_SCOPES
        if not allowed & set(token.scopes):
            raise google_error(
                403, "insufficientPermissions", "Request had insufficient authentication scopes."
            )
        self._charge(cost)
        return self.accounts[token.account_id]

    def _charge(self, cost: int) -> None:
        """Google counts every call against the project's day, failed ones included."""
        limit = self.limit_overrides.get(QUOTA_LIMIT_PATH, (DAILY_QUOTA, 86400.0))[0]
        day = datetime.fromtimestamp(self.clock.now(), PACIFIC).date().isoformat()
        spent = self.quota_spent.get(day, 0)
        if spent + cost > limit:
            raise self._quota_exceeded()
        self.quota_spent[day] = spent + cost

    @staticmethod
    def _invalid_credentials() -> SimError:
        """Expired, revoked or unknown: Google says the same for all three."""
        return google_error(
            401, "authError", "Invalid Credentials", location="Authorization", locationType="header"
        )

    @staticmethod
    def _quota_exceeded() -> SimError:
        return google_error(
            403,
            "quotaExceeded",
            "The request cannot be completed because you have exceeded your "
            '<a href="/youtube/v3/getting-started#quota">quota</a>.',
            domain="youtube.quota",
        )

    # -- parameters -------------------------------------------------------------------------------

    @staticmethod
    def _parts(request: SimRequest, allowed: set[str]) -> set[str]:
        raw = request.arg("part")
        if not raw:
            raise parameter_error("required", "Required parameter: part", "part")
        parts = {p.strip() for p in raw.split(",") if p.strip()}
        unknown = sorted(parts - allowed)
        if unknown:
            raise parameter_error("unknownPart", f"'{unknown[0]}'", "part", "youtube.part")
        return parts

    @staticmethod
    def _choice(request: SimRequest, name: str, allowed: tuple[str, ...], default: str) -> str:
        value = request.arg(name, default)
        if value not in allowed:
            raise parameter_error("invalid", f"Invalid value '{value}'. Allowed: {allowed}", name)
        return value

    @staticmethod
    def _max_results(request: SimRequest) -> int:
        raw = request.arg("maxResults", "20")
        if not raw.isdigit() or not 1 <= int(raw) <= 100:
            message = f"Invalid value '{raw}'. Values must be within the range: [1, 100]"
            raise parameter_error("invalid", message, "maxResults")
        return int(raw)

    @staticmethod
    def _page(request: SimRequest, rows: list, size: int) -> tuple[list, str | None]:
        """One page of rows, and the token of the next one (an opaque offset)."""
        token = request.arg("pageToken")
        offset = 0
        if token:
            try:
                offset = int(json.loads(base64.urlsafe_b64decode(token.encode()))["offset"])
            except (ValueError, KeyError, TypeError):
                message = "The request specifies an invalid page token."
                raise parameter_error(
                    "invalidPageToken", message, "pageToken", "youtube.parameter"
                ) from None
        following = None
        if offset + size < len(rows):
            following = base64.urlsafe_b64encode(
                json.dumps({"offset": offset + size}).encode()
            ).decode()
        return rows[offset : offset + size], following

    @staticmethod
    def _list(kind: str, rows: list[dict], total: int, size: int, following: str | None):
        payload = {"kind": kind, "etag": _etag({"items": rows})}
        if following:
            payload["nextPageToken"] = following
        payload["pageInfo"] = {"totalResults": total, "resultsPerPage": size}
        payload["items"] = rows
        return SimResponse.json(200, payload)

    # -- the state as YouTube shows it ------------------------------------------------------------

    def _video_of(self, comment: Item) -> Item:
        return self.items[comment.extra["video_id"]]

    def _owner_of(self, comment: Item) -> Account:
        """Whoever owns the video: the one who may moderate its comments."""
        return self.accounts[self._video_of(comment).account_id]

    def _author(self, account: Account) -> dict:
        return {
            "name": account.display_name,
            "handle": account.handle,
            "channel_id": account.platform_id,
        }

    def _sorted(self, items: list[Item], *, newest_first: bool) -> list[Item]:
        return sorted(items, key=lambda i: (i.created_at, i.extra["seq"]), reverse=newest_first)

    def _replies(self, top: Item, viewer: Account) -> list[Item]:
        """The replies of a thread this viewer may see, oldest first."""
        owner = self._owner_of(top)
        return self._sorted(
            [
                i
                for i in self.thread_replies.get(top.item_id, [])
                if not i.deleted
                and i.moderation_status != "rejected"
                and (viewer is owner or i.moderation_status == "published")
            ],
            newest_first=False,
        )

    def _comment(self, item: Item, viewer: Account, parts: set[str], text_format: str) -> dict:
        resource = {"kind": "youtube#comment", "id": item.item_id}
        if "snippet" in parts:
            owner = self._owner_of(item)
            display = item.text
            if text_format == "html":
                display = html.escape(item.text).replace("\n", "<br>")
            snippet = {
                "channelId": owner.platform_id,
                "videoId": item.extra["video_id"],
                "textDisplay": display,
            }
            # textOriginal is guaranteed only to the comment's author (§3.4).
            if item.author.get("channel_id") == viewer.platform_id:
                snippet["textOriginal"] = item.text
            if item.kind == "reply":
                snippet["parentId"] = item.parent_id
            snippet.update(
                {
                    "authorDisplayName": item.author.get("name", ""),
                    "authorProfileImageUrl": "https://yt3.ggpht.com/ytc/default=s48-c-k-no-rj",
                    "authorChannelUrl": f"http://www.youtube.com/@{item.author.get('handle', '')}",
                    "authorChannelId": {"value": item.author.get("channel_id", "")},
                    "canRate": True,
                    "viewerRating": "none",
                    "likeCount": 0,
                }
            )
            # Only the owner of the channel or video is told a comment's moderation status.
            if viewer is owner:
                snippet["moderationStatus"] = item.moderation_status
            snippet["publishedAt"] = _iso(item.created_at)
            snippet["updatedAt"] = _iso(item.extra.get("updated_at", item.created_at))
            resource["snippet"] = snippet
        resource["etag"] = _etag(resource)
        return resource

    def _thread(self, top: Item, viewer: Account, parts: set[str], text_format: str) -> dict:
        replies = self._replies(top, viewer)
        resource: dict = {"kind": "youtube#commentThread", "id": top.item_id}
        if "snippet" in parts:
            resource["snippet"] = {
                "channelId": self._owner_of(top).platform_id,
                "videoId": top.extra["video_id"],
                "topLevelComment": self._comment(top, viewer, {"snippet"}, text_format),
                "canReply": True,
                "totalReplyCount": len(replies),
                "isPublic": True,
            }
        # A thread carries only some of its replies; comments.list has them all (§3.4).
        if "replies" in parts and replies:
            resource["replies"] = {
                "comments": [
                    self._comment(r, viewer, {"snippet"}, text_format)
                    for r in replies[:INLINE_REPLIES]
                ]
            }
        resource["etag"] = _etag(resource)
        return resource

    def _set_status(self, item: Item, status: str) -> None:
        item.moderation_status = status
        item.hidden = status != "published"
        item.extra["updated_at"] = self.clock.now()

    # -- Google sign-in (§3.1) --------------------------------------------------------------------

    @route("GET", r"/o/oauth2/v2/auth")
    def authorize(self, request: SimRequest) -> SimResponse:
        # Until the client and its return address are known, Google shows an error page:
        # it never redirects to an address it cannot vouch for.
        if request.arg("client_id") != SIM_CLIENT_ID:
            return SimResponse.text(
                401, "Error 401: invalid_client\nThe OAuth client was not found."
            )
        redirect_uri = request.arg("redirect_uri")
        if not redirect_uri:
            return SimResponse.text(
                400, "Error 400: invalid_request\nMissing required parameter: redirect_uri"
            )
        scopes = (request.arg("scope") or "").split()
        if not scopes:
            return SimResponse.text(
                400, "Error 400: invalid_request\nMissing required parameter: scope"
            )
        state = {"state": request.arg("state")} if request.arg("state") else {}
        if request.arg("response_type") != "code":
            return SimResponse.redirect(
                add_query(redirect_uri, error="unsupported_response_type", **state)
            )
        account, deny = self.oauth_account()
        if account is None or deny:
            return SimResponse.redirect(add_query(redirect_uri, error="access_denied", **state))
        granted = set(scopes)
        if request.arg("include_granted_scopes") == "true":
            granted |= set(account.extra.get("granted_scopes", []))
        account.extra["granted_scopes"] = sorted(granted)
        code = self.new_code(
            {
                "account_id": account.account_id,
                "redirect_uri": redirect_uri,
                "scopes": sorted(granted),
                "code_challenge": request.arg("code_challenge"),
                "code_challenge_method": request.arg("code_challenge_method", "plain"),
                # A refresh token comes only for offline access with the consent screen shown
                # (a returning user who skips consent gets none).
                "refresh": request.arg("access_type") == "offline"
                and "consent" in (request.arg("prompt") or "").split(),
            }
        )
        return SimResponse.redirect(
            add_query(redirect_uri, **state, code=code, scope=" ".join(sorted(granted)))
        )

    @route("POST", r"/token")
    def token(self, request: SimRequest) -> SimResponse:
        client_id, client_secret = request.basic_auth or (
            request.arg("client_id"),
            request.arg("client_secret"),
        )
        if client_id != SIM_CLIENT_ID or client_secret != SIM_CLIENT_SECRET:
            raise oauth_error(401, "invalid_client", "Unauthorized")
        grant = request.arg("grant_type")
        if grant == "authorization_code":
            code = self.take_code(request.arg("code"))
            if code is None:
                raise oauth_error(400, "invalid_grant", "Malformed auth code.")
            if request.arg("redirect_uri") != code["redirect_uri"]:
                raise oauth_error(400, "redirect_uri_mismatch", "Bad Request")
            if not self.pkce_ok(
                code["code_challenge"], request.arg("code_verifier"), code["code_challenge_method"]
            ):
                raise oauth_error(400, "invalid_grant", "Invalid code verifier.")
            account_id, scopes = code["account_id"], code["scopes"]
        elif grant == "refresh_token":
            state, refresh = self.token_state(request.arg("refresh_token"), "refresh")
            if state != "ok":
                raise oauth_error(400, "invalid_grant", "Token has been expired or revoked.")
            account_id, scopes = refresh.account_id, refresh.scopes
        else:
            raise oauth_error(400, "unsupported_grant_type", f"Invalid grant_type: {grant}")
        access = self.issue_token(
            account_id, lifetime=ACCESS_LIFETIME, scopes=scopes, prefix="ya29."
        )
        body = {"access_token": access.value, "expires_in": ACCESS_LIFETIME}
        # A refresh grant never brings a new refresh token: the old one stays valid.
        if grant == "authorization_code" and code["refresh"]:
            body["refresh_token"] = self.issue_token(
                account_id, kind="refresh", lifetime=None, scopes=scopes, prefix="1//"
            ).value
        body.update({"scope": " ".join(scopes), "token_type": "Bearer"})
        return SimResponse.json(200, body, {"Cache-Control": "no-store"})

    @route("POST", r"/revoke")
    def revoke(self, request: SimRequest) -> SimResponse:
        token = self.tokens.get(request.arg("token") or "")
        if token is None or token.revoked:
            raise oauth_error(400, "invalid_token", "Token expired or revoked")
        # Revoking either token of a grant ends the whole grant.
        for other in self.tokens.values():
            if other.account_id == token.account_id:
                other.revoked = True
        return SimResponse.json(200, {})

    # -- channels (§3.1 identify, §3.7 profile) ---------------------------------------------------

    @route("GET", r"/youtube/v3/channels")
    def channels(self, request: SimRequest) -> SimResponse:
        viewer = self._caller(request, write=False, cost=LIST_COST)
        parts = self._parts(request, CHANNEL_PARTS)
        if request.arg("mine") != "true":
            raise google_error(
                400,
                "missingRequiredParameter",
                "No filter selected. Expected one of: forUsername, managedByMe, "
                "categoryId, mine, mySubscribers, id, idParam, forHandle.",
                domain="youtube.parameter",
            )
        channel: dict = {"kind": "youtube#channel", "id": viewer.platform_id}
        if "snippet" in parts:
            channel["snippet"] = {
                "title": viewer.display_name,
                "description": viewer.bio,
                "customUrl": f"@{viewer.handle}",
                "publishedAt": _iso(viewer.extra["created_at"]),
                "localized": {"title": viewer.display_name, "description": viewer.bio},
            }
        if "brandingSettings" in parts:
            channel["brandingSettings"] = {
                "channel": {"title": viewer.display_name, "description": viewer.bio}
            }
        channel["etag"] = _etag(channel)
        return self._list("youtube#channelListResponse", [channel], 1, 5, None)

    # -- comment threads (§3.4) -------------------------------------------------------------------

    @route("GET", r"/youtube/v3/commentThreads")
    def comment_threads(self, request: SimRequest) -> SimResponse:
        viewer = self._caller(request, write=False, cost=LIST_COST)
        parts = self._parts(request, {"id", "snippet", "replies"})
        status = self._choice(request, "moderationStatus", LISTED_STATUSES, "published")
        order = self._choice(request, "order", ("time", "relevance"), "time")
        text_format = self._choice(request, "textFormat", ("html", "plainText"), "html")
        size = self._max_results(request)
        channel_id, video_id = request.arg("allThreadsRelatedToChannelId"), request.arg("videoId")
        if bool(channel_id) == bool(video_id):
            raise google_error(
                400,
                "missingRequiredParameter",
                "No filter selected. Expected one of: allThreadsRelatedToChannelId,"
                " channelId, id, videoId.",
                domain="youtube.parameter",
            )
        if channel_id:
            owner = next((a for a in self.accounts.values() if a.platform_id == channel_id), None)
            if owner is None:
                raise google_error(
                    404,
                    "channelNotFound",
                    "The channel identified with the request's "
                    "<code>allThreadsRelatedToChannelId</code> parameter could "
                    "not be found.",
                    domain="youtube.commentThread",
                )
            videos = {
                i.item_id
                for i in self.items.values()
                if i.kind == "video" and i.account_id == owner.account_id
            }
        else:
            video = self.items.get(video_id)
            if video is None or video.kind != "video" or video.deleted:
                raise google_error(
                    404,
                    "videoNotFound",
                    "The video identified by the <code>videoId</code> parameter "
                    "could not be found.",
                    domain="youtube.commentThread",
                )
            owner, videos = self.accounts[video.account_id], {video.item_id}
        if status != "published" and viewer is not owner:
            raise google_error(
                403,
                "forbidden",
                "The comment thread could not be retrieved due to insufficient "
                "permissions. The request might not be properly authorized.",
                domain="youtube.commentThread",
            )
        threads = self._sorted(
            [
                i
                for i in self.items.values()
                if i.kind == "comment"
                and not i.deleted
                and i.extra["video_id"] in videos
                and i.moderation_status == status
            ],
            newest_first=True,
        )
        if order == "relevance":
            # Relevance favours engagement; with no likes simulated that is the replies.
            # The sort is stable, so equally engaging threads stay newest first.
            threads = sorted(threads, key=lambda i: -len(self._replies(i, viewer)))
        page, following = self._page(request, threads, size)
        rows = [self._thread(t, viewer, parts, text_format) for t in page]
        return self._list("youtube#commentThreadListResponse", rows, len(threads), size, following)

    # -- comments (§3.4 replies, §3.3 delete, §3.5 moderate and reply) ----------------------------

    @route("GET", r"/youtube/v3/comments")
    def comments(self, request: SimRequest) -> SimResponse:
        viewer = self._caller(request, write=False, cost=LIST_COST)
        parts = self._parts(request, {"id", "snippet"})
        text_format = self._choice(request, "textFormat", ("html", "plainText"), "html")
        size = self._max_results(request)
        parent_id = request.arg("parentId")
        if not parent_id:
            raise google_error(
                400,
                "missingRequiredParameter",
                "No filter selected. Expected one of: id, parentId.",
                domain="youtube.parameter",
            )
        top = self.items.get(parent_id)
        if (
            top is None
            or top.kind != "comment"
            or top.deleted
            or top.moderation_status == "rejected"
            or (top.moderation_status != "published" and viewer is not self._owner_of(top))
        ):
            raise comment_error(404, "commentNotFound", "The parent comment could not be found.")
        replies = self._replies(top, viewer)
        page, following = self._page(request, replies, size)
        rows = [self._comment(r, viewer, parts, text_format) for r in page]
        return self._list("youtube#commentListResponse", rows, len(replies), size, following)

    @route("POST", r"/youtube/v3/comments")
    def insert_comment(self, request: SimRequest) -> SimResponse:
        viewer = self._caller(request, write=True, cost=WRITE_COST)
        parts = self._parts(request, {"id", "snippet"})
        snippet = (request.json or {}).get("snippet") or {}
        parent_id, text = snippet.get("parentId"), snippet.get("textOriginal") or ""
        if not parent_id:
            raise comment_error(400, "parentIdMissing", "A reply must name its parent comment.")
        if not text.strip():
            raise comment_error(400, "commentTextRequired", "Comments cannot be empty.")
        if len(text) > MAX_COMMENT_LENGTH:
            raise comment_error(400, "commentTextTooLong", "The comment text is too long.")
        parent = self.items.get(parent_id)
        if parent is not None and parent.kind == "reply":
            message = "Replies can only be made to top-level comments."
            raise comment_error(400, "operationNotSupported", message)
        if (
            parent is None
            or parent.kind != "comment"
            or parent.deleted
            or parent.moderation_status == "rejected"
        ):
            message = "The specified parent comment could not be found."
            raise comment_error(404, "parentCommentNotFound", message)
        reply = Item(
            item_id=f"{parent.item_id}.{self._chars(22)}",
            account_id=viewer.account_id,
            kind="reply",
            text=text,
            created_at=self.clock.now(),
            parent_id=parent.item_id,
            author=self._author(viewer),
            extra={"video_id": parent.extra["video_id"], "seq": self.next_number()},
        )
        self.items[reply.item_id] = reply
        self.thread_replies.setdefault(parent.item_id, []).append(reply)
        return SimResponse.json(200, self._comment(reply, viewer, parts, "html"))

    @route("DELETE", r"/youtube/v3/comments")
    def delete_comment(self, request: SimRequest) -> SimResponse:
        viewer = self._caller(request, write=True, cost=WRITE_COST)
        item = self.items.get(request.arg("id") or "")
        if item is None or item.kind not in ("comment", "reply") or item.deleted:
            raise comment_error(404, "commentNotFound", "The comment could not be found.")
        # comments.delete is for the comment's author only; owners moderate (§3.3).
        if item.author.get("channel_id") != viewer.platform_id:
            message = "The comment could not be deleted due to insufficient permissions."
            raise comment_error(403, "forbidden", message)
        item.deleted = True
        return SimResponse.empty(204)

    @route("POST", r"/youtube/v3/comments/setModerationStatus")
    def set_moderation_status(self, request: SimRequest) -> SimResponse:
        viewer = self._caller(request, write=True, cost=WRITE_COST)
        ids = [i for i in (request.arg("id") or "").split(",") if i]
        if not ids:
            raise parameter_error("required", "Required parameter: id", "id")
        if len(ids) > MAX_IDS:
            raise parameter_error("invalid", f"At most {MAX_IDS} ids are allowed.", "id")
        status = request.arg("moderationStatus")
        if status not in SETTABLE_STATUSES:
            message = f"Invalid value '{status}'. Allowed: {SETTABLE_STATUSES}"
            raise parameter_error("invalid", message, "moderationStatus")
        ban = request.arg("banAuthor", "false") == "true"
        if ban and status != "rejected":
            message = "The banAuthor parameter can only be used with moderationStatus=rejected."
            raise comment_error(400, "banWithoutReject", message)
        # Every id is checked before any changes: one bad id changes nothing.
        targets = []
        for comment_id in ids:
            item = self.items.get(comment_id)
            if item is None or item.kind not in ("comment", "reply"):
                raise comment_error(404, "commentNotFound", "The comment could not be found.")
            if item.deleted:
                message = "The API server failed to successfully process the request."
                raise comment_error(400, "processingFailure", message)
            if self._owner_of(item) is not viewer:
                message = "Only the owner of the channel or video may moderate its comments."
                raise comment_error(403, "forbidden", message)
            # Google documents rejected → published as unsupported; a rejected comment is
            # gone from every list, so nothing can bring it back (SMC relies on this).
            if item.moderation_status == "rejected" and status != "rejected":
                message = "A rejected comment cannot be set back to another moderation status."
                raise comment_error(400, "operationNotSupported", message)
            targets.append(item)
        for item in targets:
            self._set_status(item, status)
            if status == "rejected" and item.kind == "comment":
                for reply in self.thread_replies.get(item.item_id, []):
                    reply.hidden = True
            if ban:
                banned = self._owner_of(item).extra["banned"]
                if item.author["channel_id"] not in banned:
                    banned.append(item.author["channel_id"])
        return SimResponse.empty(204)

    # -- platform hooks (§7) ----------------------------------------------------------------------

    def seed_account(self, payload: dict) -> dict:
        number = self.next_number()
        handle = payload.get("handle") or f"channel{number}"
        account = Account(
            account_id=f"acct{number}",
            platform_id=self._channel_id(),
            handle=handle,
            display_name=payload.get("display_name") or handle,
            # The description is YouTube's only profile text; channel links are not in
            # the API (§3.7), so `website` is kept but never shown.
            bio=payload.get("bio", ""),
            website=payload.get("website", ""),
            scopes=list(payload.get("scopes") or [FORCE_SSL]),
            extra={"created_at": self.clock.now(), "banned": []},
        )
        self.accounts[account.account_id] = account
        access = self.issue_token(account.account_id, lifetime=ACCESS_LIFETIME, prefix="ya29.")
        refresh = self.issue_token(account.account_id, kind="refresh", lifetime=None, prefix="1//")
        return {
            "account_id": account.account_id,
            "platform_id": account.platform_id,
            "access_token": access.value,
            "refresh_token": refresh.value,
        }

    def create_content(self, account: Account, payload: dict) -> dict:
        if payload.get("kind", "video") != "video":
            raise SimError(SimResponse.json(400, {"error": "YouTube content is a video"}))
        video_id = self._chars(10) + self.rng.choice(_VIDEO_LAST)
        self.items[video_id] = Item(
            item_id=video_id,
            account_id=account.account_id,
            kind="video",
            text=payload.get("title") or "Untitled video",
            created_at=self.clock.now(),
            extra={"seq": self.next_number()},
        )
        return {"video_id": video_id}

    def inject(self, payload: dict) -> dict:
        target = self.items.get(payload.get("target", ""))
        if target is None or target.deleted:
            raise SimError(SimResponse.json(404, {"error": "no such video or comment"}))
        status = payload.get("moderation_status") or "published"
        if status not in LISTED_STATUSES:
            raise SimError(SimResponse.json(400, {"error": f"moderation_status {status}?"}))
        person = payload.get("author") or {}
        name = person.get("name") or "A viewer"
        handle = person.get("handle") or name.lower().replace(" ", "")
        channel_id = self.people.setdefault(handle, self._channel_id())
        created_at = self.clock.now()
        if payload.get("created_at"):
            moment = datetime.fromisoformat(payload["created_at"])
            created_at = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()
        if target.kind == "video":
            kind, video_id, parent_id = "comment", target.item_id, target.item_id
            item_id = "Ugx" + self._chars(16) + "4AaABAg"
        elif target.kind in ("comment", "reply"):
            top = target if target.kind == "comment" else self.items[target.parent_id]
            kind, video_id, parent_id = "reply", top.extra["video_id"], top.item_id
            item_id = f"{top.item_id}.{self._chars(22)}"
        else:
            raise SimError(SimResponse.json(400, {"error": "comment on a video or a comment"}))
        owner = self.accounts[self.items[video_id].account_id]
        # A banned author's comments are rejected as they arrive (banAuthor, §3.5).
        if channel_id in owner.extra["banned"]:
            status = "rejected"
        item = Item(
            item_id=item_id,
            account_id=None,
            kind=kind,
            text=payload.get("text", ""),
            created_at=created_at,
            parent_id=parent_id,
            author={"name": name, "handle": handle, "channel_id": channel_id},
            extra={"video_id": video_id, "seq": self.next_number()},
        )
        self._set_status(item, status)
        item.extra["updated_at"] = created_at
        self.items[item_id] = item
        if kind == "reply":
            self.thread_replies.setdefault(parent_id, []).append(item)
        if kind == "comment":
            return self._thread(item, owner, {"id", "snippet", "replies"}, "plainText")
        return self._comment(item, owner, {"id", "snippet"}, "plainText")

    def error_response(self, status: int) -> SimResponse:
        if status >= 500:
            message = "Backend Error" if status == 500 else "The service is currently unavailable."
            return google_error(status, "backendError", message).response
        reason = {
            401: "authError",
            403: "forbidden",
            404: "notFound",
            429: "rateLimitExceeded",
        }.get(status, "badRequest")
        return google_error(status, reason, f"The request failed ({reason}).").response

    def rate_limit_response(self, reset_in_s: float) -> SimResponse:
        # quotaExceeded, not rateLimitExceeded: see the module docstring.
        return self._quota_exceeded().response

    def expired_token_response(self) -> SimResponse:
        return self._invalid_credentials().response
