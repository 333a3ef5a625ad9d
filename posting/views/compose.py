"""Compose (P1, P5): the phone-first form, its live counts and checks, photos, my posts.

Every page works without JavaScript: the form posts text, channels, time and photos in
one request. With it, htmx autosaves and refreshes the counts and checks as the author
types (the same endpoint: it saves, then answers with the live panel), and compose.js
sends each photo as soon as it is chosen, retrying with the same upload_key.
"""

from __future__ import annotations

import functools
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.models import Role
from accounts.permissions import role_required
from posting import selectors
from posting.checks import failures, run_checks
from posting.compose_forms import ComposeForm, initial_for
from posting.lengths import measure
from posting.models import Post
from posting.photos import too_large_message
from posting.services import PostingError
from posting.services.approval import submit_post
from posting.services.drafts import PhotoUpload, remove_photo, save_draft, withdraw_post
from smc.errors import NotFound

# Everyone but auditors writes posts (auditors read and never write).
authors = role_required(Role.ADMINISTRATOR, Role.SUPERVISOR, Role.USER)


def in_agency_time(view):
    """Forms read, and pages show, times on the agency's clock (stored in UTC)."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        zone = ZoneInfo(request.agency.time_zone or "UTC")
        with timezone.override(zone):
            return view(request, *args, **kwargs)

    return wrapper


def _live(form: ComposeForm, membership, post: Post | None) -> dict:
    """Counts, previews and check results for what the form holds right now."""
    text = form.data.get("text", "") if form.is_bound else (post.text if post else "")
    usable = {channel.pk: channel for channel in form.usable}
    if form.is_bound:
        chosen = [usable[pk] for pk in sorted(form.chosen_ids) if pk in usable]
    else:
        chosen = [c for c in selectors.post_channels(post) if c.pk in usable] if post else []
    photos = list(selectors.active_photos(post)) if post else []
    descriptions = [
        form.data.get(f"alt_{photo.pk}", photo.alt_text) if form.is_bound else photo.alt_text
        for photo in photos
    ]
    results = run_checks(text=text, channels=chosen, agency=membership.agency,
                         descriptions=descriptions)  # fmt: skip
    return {
        "measures": [(channel, measure(text, channel)) for channel in chosen],
        "checks": results,
        "failed": failures(results),
        "preview_text": text,
        "photo_count": len(photos),
    }


def _page(request, form: ComposeForm, post: Post | None, *, status: int = 200, **extra):
    photos = list(selectors.active_photos(post)) if post else []
    chosen = form.chosen_ids if form.is_bound else (
        {c.pk for c in selectors.post_channels(post)} if post else set()
    )  # fmt: skip
    context = {
        "form": form, "post": post, "photos": photos, "chosen": chosen,
        "zone": timezone.get_current_timezone_name(),
        "max_photo_mb": settings.SMC_PHOTO_MAX_MB,
        **_live(form, request.membership, post), **extra,
    }  # fmt: skip
    return render(request, "posting/compose.html", context, status=status)


def _refused_uploads(request, form: ComposeForm) -> bool:
    names = getattr(request, "smc_refused_uploads", [])
    for name in names:
        form.add_error("photos", too_large_message(name))
    return bool(names)


def _compose(request, post: Post | None):
    membership = request.membership
    form = ComposeForm(request.POST, request.FILES, author=membership)
    refused = _refused_uploads(request, form)
    if not form.is_valid() or refused:
        return _page(request, form, post, status=400)
    client_key = post.client_key if post else form.cleaned_data["client_key"]
    upload_key = form.cleaned_data["upload_key"] or client_key.hex
    photos = [
        PhotoUpload(file=upload, upload_key=f"{upload_key}-{index}")
        for index, upload in enumerate(form.cleaned_data["photos"])
    ]
    try:
        post = save_draft(author=membership, client_key=client_key, changes=form.changes(),
                          photos=photos, on_purpose=True)  # fmt: skip
    except PostingError as error:
        form.add_error(None, error.message)
        return _page(request, form, post, status=400)
    if request.POST.get("action") == "submit":
        try:
            submit_post(author=membership, post=post)
        except PostingError as error:
            messages.error(request, _("Saved as a draft, not sent: %s") % error.message)
            return redirect("posting:compose_edit", post_id=post.pk)
        messages.success(request, _("Sent. You will see here when it is approved and published."))
        return redirect("posting:post_detail", post_id=post.pk)
    messages.success(request, _("Draft saved."))
    return redirect("posting:post_detail", post_id=post.pk)


@login_required
@authors
@in_agency_time
def compose_new(request):
    if request.method == "POST":
        return _compose(request, None)
    form = ComposeForm(initial=initial_for(None), author=request.membership)
    return _page(request, form, None)


@login_required
@authors
@in_agency_time
def compose_edit(request, post_id):
    post = selectors.get_own_post_for(request.membership, post_id)
    if not post.is_editable_by_author:
        messages.warning(request, _("This post is %s: it can no longer be changed.")
                         % post.get_status_display().lower())  # fmt: skip
        return redirect("posting:post_detail", post_id=post.pk)
    if request.method == "POST":
        return _compose(request, post)
    form = ComposeForm(initial=initial_for(post), author=request.membership)
    return _page(request, form, post)


@require_POST
@login_required
@authors
@in_agency_time
def autosave(request):
    """htmx, while typing: save the draft (all or nothing) and answer with the live panel."""
    membership = request.membership
    form = ComposeForm(request.POST, author=membership)
    problem, post = "", None
    if form.is_valid():
        key = form.cleaned_data["client_key"]
        post = selectors.post_by_client_key(membership, key)
        changes = form.changes()
        empty = not (changes.text.strip() or changes.location or changes.channels)
        if post is not None or not empty:  # an untouched form makes no draft
            try:
                post = save_draft(author=membership, client_key=key, changes=changes)
            except PostingError as error:
                problem = error.message
    else:
        problem = " ".join(str(e) for errors in form.errors.values() for e in errors)
    context = {**_live(form, membership, post), "problem": problem, "post": post,
               "saved_at": post.updated_at if post and not problem else None}  # fmt: skip
    response = render(request, "posting/_compose_live.html", context)
    if post is not None:
        response["HX-Replace-Url"] = reverse("posting:compose_edit", args=[post.pk])
    return response


@require_POST
@login_required
@authors
@in_agency_time
def photo_upload(request):
    """compose.js sends each photo here as soon as it is chosen; a retry with the same
    upload_key finds the photo it already made."""
    membership = request.membership
    form = ComposeForm(request.POST, author=membership)
    form.is_valid()  # only client_key is needed here
    key = form.cleaned_data.get("client_key")
    upload = request.FILES.get("photo")
    problem, post = "", None
    if key is None:
        problem = _("The page is out of date; reload it and try again.")
    elif getattr(request, "smc_refused_uploads", None):
        problem = too_large_message(request.smc_refused_uploads[0])
    elif upload is None:
        problem = _("Choose a photo to add.")
    else:
        try:
            post = save_draft(
                author=membership, client_key=key,
                photos=[PhotoUpload(upload, request.POST.get("upload_key", ""),
                                    request.POST.get("alt_text", ""))],
            )  # fmt: skip
        except PostingError as error:
            problem = error.message
    if post is None and key is not None:
        post = selectors.post_by_client_key(membership, key)
    photos = list(selectors.active_photos(post)) if post else []
    response = render(request, "posting/_photos.html",
                      {"photos": photos, "post": post, "photo_problem": problem},
                      status=400 if problem else 200)  # fmt: skip
    if post is not None:
        response["X-Post-Url"] = reverse("posting:compose_edit", args=[post.pk])
    return response


@require_POST
@login_required
@authors
def photo_remove(request, post_id, photo_id):
    post = selectors.get_own_post_for(request.membership, post_id)
    photo = selectors.get_photo_for(request.membership, photo_id)
    problem = ""
    try:
        remove_photo(author=request.membership, post=post, photo=photo)
    except PostingError as error:
        problem = error.message
    if request.htmx:
        photos = list(selectors.active_photos(post))
        return render(request, "posting/_photos.html",
                      {"photos": photos, "post": post, "photo_problem": problem})  # fmt: skip
    if problem:
        messages.error(request, problem)
    else:
        messages.success(request, _("Photo removed."))
    return redirect("posting:compose_edit", post_id=post.pk)


@login_required
def photo(request, photo_id):
    """The EXIF-free copy, to whoever may see the post (thumbnails, previews)."""
    found = selectors.get_photo_for(request.membership, photo_id)
    response = FileResponse(found.cleaned.open("rb"), content_type=found.content_type)
    response["Cache-Control"] = "private, max-age=3600"
    return response


@login_required
def photo_original(request, photo_id):
    """The file as the author's phone sent it, location data and all: kept for the record.
    Its author, administrators and auditors may download it; it is never shown inline."""
    found = selectors.get_photo_for(request.membership, photo_id)
    membership = request.membership
    if membership.role not in (Role.ADMINISTRATOR, Role.AUDITOR) and (
        found.post.author_id != membership.pk
    ):
        raise NotFound(_("That photo does not exist."))
    return FileResponse(found.original.open("rb"), as_attachment=True,
                        filename=f"post-{found.post_id}-photo-{found.pk}-original",
                        content_type="application/octet-stream")  # fmt: skip


@require_POST
@login_required
@authors
def withdraw(request, post_id):
    post = selectors.get_own_post_for(request.membership, post_id)
    try:
        withdraw_post(author=request.membership, post=post)
    except PostingError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Post withdrawn. It will not be published."))
    return redirect("posting:post_detail", post_id=post.pk)


@login_required
@in_agency_time
def post_detail(request, post_id):
    post = selectors.get_post_for(request.membership, post_id)
    context = {
        "post": post,
        "photos": list(selectors.active_photos(post)),
        "publications": selectors.post_publications(post),
        "decisions": selectors.post_decisions(post),
        "is_author": post.author_id == request.membership.pk,
        "failed_checks": failures(post.check_results),
        "zone": timezone.get_current_timezone_name(),
    }
    return render(request, "posting/post_detail.html", context)


@login_required
@in_agency_time
def post_list(request):
    status = request.GET.get("status", "")
    if status not in Post.Status.values:
        status = ""
    posts = selectors.my_posts(request.membership, status=status)
    page = Paginator(posts, 25).get_page(request.GET.get("page"))
    return render(request, "posting/post_list.html",
                  {"page": page, "status": status, "statuses": Post.Status.choices})  # fmt: skip
