"""Approval (P2): the desk's queue, a post under review, decisions, and what changed."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.models import Role
from accounts.permissions import role_required
from posting import queue, selectors
from posting.services import PostingError
from posting.services import approval as services

# Auditors read the queue and every review; the middleware refuses their POSTs.
approvers_and_readers = role_required(Role.ADMINISTRATOR, Role.SUPERVISOR, Role.AUDITOR)
approvers = role_required(Role.ADMINISTRATOR, Role.SUPERVISOR)


@login_required
@approvers_and_readers
def approval_queue(request):
    page = queue.approval_page(viewer=request.membership, number=request.GET.get("page"))
    return render(request, "posting/approval_queue.html", {
        "page": page, "posts": queue.with_clock(page.object_list, request.agency),
        "can_decide": request.membership.role != Role.AUDITOR,
    })  # fmt: skip


def _back(request, post):
    if request.POST.get("from") == "queue":
        return redirect("posting:approval_queue")
    return redirect("posting:review", post_id=post.pk)


@login_required
@approvers_and_readers
def review(request, post_id):
    """One post under review; its POST is the supervisor's edit."""
    post = queue.get_post_for_approver(request.membership, post_id)
    if post.author_id == request.membership.pk and request.method == "GET":
        return redirect("posting:changes", post_id=post.pk)
    if request.method == "POST":
        try:
            services.edit_as_supervisor(supervisor=request.membership, post=post,
                                        text=request.POST.get("text", ""),
                                        location=request.POST.get("location"))  # fmt: skip
        except PostingError as error:
            messages.error(request, error.message)
            return _render_review(request, post, text=request.POST.get("text", ""))
        messages.success(request, _("Your edit is saved; the author is told what changed."))
        return redirect("posting:review", post_id=post.pk)
    return _render_review(request, post)


def _render_review(request, post, *, text=None):
    return render(request, "posting/review.html", {
        "post": post, "text": post.text if text is None else text,
        "may_decide": services.may_approve(request.membership, post),
        "may_edit": services.may_edit(request.membership, post),
        "publications": selectors.post_publications(post),
        "decisions": selectors.post_decisions(post),
        "revisions": queue.revisions_of(post),
    }, status=400 if text is not None else 200)  # fmt: skip


@require_POST
@login_required
@approvers
def approve(request, post_id):
    post = queue.get_post_for_approver(request.membership, post_id)
    try:
        services.approve_post(supervisor=request.membership, post=post)
    except PostingError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Approved: post %s goes out as scheduled.") % post.pk)
    return _back(request, post)


@require_POST
@login_required
@approvers
def reject(request, post_id):
    post = queue.get_post_for_approver(request.membership, post_id)
    try:
        services.reject_post(supervisor=request.membership, post=post,
                             reason=request.POST.get("reason", ""))  # fmt: skip
    except PostingError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Sent back to the author with your reason."))
    return _back(request, post)


@login_required
def changes(request, post_id):
    """What happened to a post under approval: every revision with what changed from the
    one before, and every decision. For its author and those who may see its approval."""
    post = queue.get_post_for_approver(request.membership, post_id)
    revisions = queue.revisions_of(post)
    steps = []
    for before, after in zip([None, *revisions], revisions, strict=False):
        diff = services.revision_diff(before.text, after.text) if before else None
        location_changed = bool(before) and before.location != after.location
        steps.append({"revision": after, "diff": diff, "before": before,
                      "location_changed": location_changed})  # fmt: skip
    context = {"post": post, "steps": steps, "decisions": selectors.post_decisions(post)}
    return render(request, "posting/changes.html", context)
