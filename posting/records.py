"""Posts as public records (R3–R5, records requests), registered with audit from
PostingConfig.ready(); audit knows nothing of these tables (audit.sources, audit.retention).

A post's versions are its revisions (each submission and each supervisor's edit, written
once) and, when it differs from the last of them, the text as it stands now (a draft
never submitted has only that). The auditor finds a post by a word in any version and
opens it with every version.

Retention: posts are kept SMC_RETENTION_DAYS["posting.post"] or 7 years from their last
action by default, at least one year. A post is never purged while it is, or may yet be,
on a platform (waiting for approval, scheduled, publishing, or any publication queued,
sending, published or unknown): the public can still see it, so it is still a live
record; once deleted from the platforms (or never sent) it can go. Purging removes the
post, its revisions, decisions, publications and photos, and deletes the photo files
only once that has committed; the chain keeps what was done with it.
"""

from __future__ import annotations

import hashlib
import mimetypes
from collections.abc import Iterator
from datetime import timedelta

from django.contrib.postgres.search import SearchVector
from django.db import transaction
from django.db.models import Exists, F, Max, OuterRef, Q, QuerySet
from django.db.models.functions import Coalesce, Greatest
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from audit.models import SEARCH_CONFIG
from audit.retention import (
    Candidate,
    RecordKind,
    RequestedRecord,
    RetentionError,
    register_record_kind,
)
from audit.search import text_condition
from audit.selectors import start_of
from audit.sources import Hit, Record, RecordSource, Terms, Version, register_source
from posting.models import ApprovalDecision, Post, PostPhoto, PostRevision, Publication
from smc.errors import NotFound

EXCERPT_CHARS = 200
KIND = "posting.post"
SEVEN_YEARS = 2555  # days
# A post in one of these states, or with a publication in one of these, is (or may yet
# be) on a platform: never purged.
IN_FLIGHT = (Post.Status.AWAITING_APPROVAL, Post.Status.SCHEDULED, Post.Status.PUBLISHING)
LIVE_PUBLICATIONS = (
    Publication.Status.QUEUED,
    Publication.Status.SENDING,
    Publication.Status.PUBLISHED,
    Publication.Status.UNKNOWN,
)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


# --- Search, open, export (audit.sources) ------------------------------------------------------


def _matching_posts(agency_id: int, terms: Terms) -> QuerySet[Post]:
    found = Post.objects.filter(agency=agency_id)
    if terms.person:
        found = found.filter(author__user__username__iexact=terms.person)
    if terms.channel:
        found = found.filter(
            Exists(
                Publication.objects.filter(post=OuterRef("pk"), channel__name__iexact=terms.channel)
            )
        )
    if terms.since:
        found = found.filter(updated_at__gte=start_of(terms.since))
    if terms.until:
        found = found.filter(created_at__lt=start_of(terms.until + timedelta(days=1)))
    if terms.query:
        # Posts and their revisions are few beside log entries: vectors per query.
        condition = text_condition(terms.query, vector="words", document="text")
        revisions = (
            PostRevision.objects.filter(agency=agency_id)
            .annotate(words=SearchVector("text", "location", config=SEARCH_CONFIG))
            .filter(condition)
        )
        current = (
            Post.objects.filter(agency=agency_id)
            .annotate(words=SearchVector("text", "location", config=SEARCH_CONFIG))
            .filter(condition)
        )
        found = found.filter(Q(pk__in=revisions.values("post_id")) | Q(pk__in=current.values("pk")))
    return found


def search_posts(agency_id: int, terms: Terms, limit: int) -> list[Hit]:
    found = (
        _matching_posts(agency_id, terms)
        .select_related("author__user")
        .order_by("-updated_at", "-pk")[:limit]
    )
    return [
        Hit(
            record_id=str(post.pk),
            when=post.updated_at,
            title=_("Post %(id)d by %(author)s (%(status)s, revision %(revision)d)")
            % {
                "id": post.pk,
                "author": post.author.user.username,
                "status": post.get_status_display().lower(),
                "revision": post.revision,
            },
            excerpt=post.text[:EXCERPT_CHARS],
            person=post.author.user.username,
            channel=", ".join(
                Publication.objects.filter(post=post).values_list("channel__name", flat=True)
            ),
        )
        for post in found
    ]


def _versions(post: Post) -> list[dict]:
    """Every version of the post, oldest first: its revisions, then the text as it
    stands now when that is not the last revision's."""
    versions = [
        {
            "number": r.number,
            "kind": r.kind,
            "kind_label": str(r.get_kind_display()),
            "when": r.created_at,
            "by": r.edited_by.user.username,
            "text": r.text,
            "location": r.location,
            "channel_ids": r.channel_ids,
            "photo_ids": r.photo_ids,
        }
        for r in PostRevision.objects.filter(post=post)
        .select_related("edited_by__user")
        .order_by("number")
    ]
    last = versions[-1] if versions else None
    if last is None or (last["text"], last["location"]) != (post.text, post.location):
        versions.append(
            {
                "number": (last["number"] + 1) if last else 1,
                "kind": "current",
                "kind_label": _("As it stands now"),
                "when": post.updated_at,
                "by": post.author.user.username,
                "text": post.text,
                "location": post.location,
                "channel_ids": None,
                "photo_ids": None,
            }
        )
    return versions


def _photos(post: Post) -> list[PostPhoto]:
    return list(PostPhoto.objects.filter(post=post).order_by("position", "pk"))


def _media(post: Post) -> list[tuple[str, object]]:
    """The photos as sent to platforms (EXIF and GPS removed), for a package; the
    originals stay internal."""
    return [
        (
            f"post-{post.pk}-photo-{photo.pk}"
            + (mimetypes.guess_extension(photo.content_type) or ""),
            photo.cleaned.open,
        )
        for photo in _photos(post)
        if photo.cleaned and photo.cleaned.storage.exists(photo.cleaned.name)
    ]


def get_post(agency_id: int, record_id: str) -> Record:
    if not record_id.isdigit():
        raise NotFound(_("That post does not exist."))
    post = (
        Post.objects.filter(agency=agency_id, pk=int(record_id))
        .select_related("author__user", "approved_by__user")
        .first()
    )
    if post is None:
        raise NotFound(_("That post does not exist."))
    publications = Publication.objects.filter(post=post).select_related("channel")
    facts = [
        (_("Author"), post.author.user.username),
        (_("Status"), str(post.get_status_display())),
        (_("Drafted at"), post.created_at.isoformat()),
        (_("Last changed at"), post.updated_at.isoformat()),
    ]
    if post.approved_by_id:
        facts.append(
            (
                _("Approved"),
                f"{post.approved_by.user.username}, revision {post.approved_revision}, "
                f"{post.approved_at.isoformat() if post.approved_at else ''}",
            )
        )
    if post.rejection_reason:
        facts.append((_("Sent back because"), post.rejection_reason))
    for publication in publications:
        facts.append(
            (
                publication.channel.name,
                " ".join(
                    part
                    for part in (str(publication.get_status_display()), publication.url)
                    if part
                ),
            )
        )
    for photo in _photos(post):
        facts.append(
            (
                _("Photo %(n)d") % {"n": photo.pk},
                f"SHA-256 {photo.cleaned_sha256}" + (" (removed)" if photo.removed_at else ""),
            )
        )
    return Record(
        record_id=record_id,
        title=_("Post %(id)d (%(status)s)")
        % {"id": post.pk, "status": post.get_status_display().lower()},
        facts=facts,
        versions=[
            Version(
                seq=v["number"],
                kind=f"{v['kind_label']} ({v['by']})",
                when=v["when"],
                text=v["text"],
                sha256=_sha256(v["text"]),
            )
            for v in _versions(post)
        ],
        object_type=Post._meta.label_lower,
        object_id=str(post.pk),
        media=_media(post),
    )


def export_posts(agency_id: int, terms: Terms) -> Iterator[dict]:
    """One row per version of each post found, in post order; the post's photos (as
    sent) follow its last version."""
    posts = (
        _matching_posts(agency_id, terms)
        .select_related("author__user")
        .order_by("pk")
        .iterator(chunk_size=500)
    )
    for post in posts:
        versions = _versions(post)
        channels = list(
            Publication.objects.filter(post=post).values_list("channel__name", "status", "url")
        )
        for index, version in enumerate(versions):
            row = {
                "post_id": post.pk,
                "post_status": post.status,
                "author": post.author.user.username,
                "version": version["number"],
                "kind": version["kind"],
                "at": version["when"],
                "by": version["by"],
                "text": version["text"],
                "text_sha256": _sha256(version["text"]),
                "location": version["location"],
                "publications": [
                    {"channel": name, "status": status, "url": url}
                    for name, status, url in channels
                ],
            }
            if index == len(versions) - 1:
                row["_media"] = _media(post)
            yield row


def register_post_source() -> None:
    register_source(
        RecordSource(
            key="posts",
            label=gettext_lazy("Posts (every revision)"),
            search=search_posts,
            get=get_post,
            export_rows=export_posts,
        )
    )


# --- Retention and records requests (audit.retention) -----------------------------------------


def _posts():
    # Built per call: the scoped manager needs the agency scope the caller opened.
    live = Publication.objects.filter(post=OuterRef("pk"), status__in=LIVE_PUBLICATIONS)
    return Post.objects.annotate(
        # Its last action: the post's own change or any publication's (a deletion from
        # the platform comes after the post's last edit).
        last_action=Greatest(
            F("updated_at"), Coalesce(Max("publications__updated_at"), F("updated_at"))
        ),
        is_live=Exists(live),
    )


def _purgeable():
    return _posts().filter(is_live=False).exclude(status__in=IN_FLIGHT)


def _candidate(post: Post) -> Candidate:
    channels = tuple(
        Publication.objects.filter(post=post).order_by("pk").values_list("channel_id", flat=True)
    )
    return Candidate(
        record_id=post.pk,
        occurred_at=post.last_action,
        channel_id=channels[0] if channels else None,
        channel_ids=channels,
        people=tuple(
            p
            for p in (
                post.author.user.username,
                post.approved_by.user.username if post.approved_by_id else "",
            )
            if p
        ),
    )


def _expired(cutoff, after_id: int, limit: int) -> list[Candidate]:
    found = (
        _purgeable()
        .filter(last_action__lt=cutoff, pk__gt=after_id)
        .select_related("author__user", "approved_by__user")
        .order_by("pk")[:limit]
    )
    return [_candidate(post) for post in found]


def _describe(ids: list[int]) -> list[Candidate]:
    """For a purge asked by hand: a post still on a platform (or on its way) refuses it
    with the reason, rather than passing as "no such post"."""
    found = list(_posts().filter(pk__in=ids).select_related("author__user", "approved_by__user"))
    live = sorted(p.pk for p in found if p.is_live or p.status in IN_FLIGHT)
    if live:
        raise RetentionError(
            _(
                "Posts %(ids)s are on a platform or on their way to one; delete them from "
                "the platforms first. Nothing was purged."
            )
            % {"ids": ", ".join(map(str, live))}
        )
    return [_candidate(post) for post in found]


def _purge(ids: list[int]) -> int:
    """Delete the posts and all that belongs to them. Photo files go only once the
    purge has committed: a purge rolled back keeps its files."""
    ids = list(_purgeable().filter(pk__in=ids).values_list("pk", flat=True))
    files = [
        name
        for original, cleaned in PostPhoto.objects.filter(post_id__in=ids).values_list(
            "original", "cleaned"
        )
        for name in (original, cleaned)
        if name
    ]
    ApprovalDecision.objects.filter(post_id__in=ids).delete()
    PostRevision.objects.filter(post_id__in=ids).delete()
    PostPhoto.objects.filter(post_id__in=ids).delete()
    Publication.objects.filter(post_id__in=ids).delete()
    deleted, _counts = Post.objects.filter(pk__in=ids).delete()

    def remove_files():
        storage = PostPhoto._meta.get_field("original").storage
        for name in files:
            storage.delete(name)

    transaction.on_commit(remove_files)
    return deleted


def _records(scope) -> Iterator[RequestedRecord]:
    found = Post.objects.filter(updated_at__gte=scope.since, created_at__lt=scope.until)
    if scope.channel_id:
        found = found.filter(
            Exists(Publication.objects.filter(post=OuterRef("pk"), channel_id=scope.channel_id))
        )
    if scope.person:
        found = found.filter(author__user__username__iexact=scope.person)
    for post in found.select_related("author__user").order_by("created_at", "pk"):
        versions = _versions(post)
        yield RequestedRecord(
            kind=KIND,
            record_id=post.pk,
            occurred_at=post.created_at,
            label=f"Post {post.pk}",
            fields={
                "status": post.status,
                "author": post.author.user.username,
                "created_at": post.created_at.isoformat(),
                "text": post.text,
                "location": post.location,
                "versions": [
                    {**v, "when": v["when"].isoformat(), "text_sha256": _sha256(v["text"])}
                    for v in versions
                ],
                "publications": [
                    {
                        "channel": name,
                        "status": status,
                        "url": url,
                        "published_at": published_at.isoformat() if published_at else None,
                    }
                    for name, status, url, published_at in Publication.objects.filter(
                        post=post
                    ).values_list("channel__name", "status", "url", "published_at")
                ],
                "photos": [
                    {"sha256": p.cleaned_sha256, "description": p.alt_text} for p in _photos(post)
                ],
            },
            # The agency's own words, not the public's: nothing to redact.
        )


def register_post_kind() -> None:
    register_record_kind(
        RecordKind(
            name=KIND,
            label="Posts",
            expired=_expired,
            purge=_purge,
            describe=_describe,
            default_days=SEVEN_YEARS,
            minimum_days=365,
            records=_records,
        )
    )
