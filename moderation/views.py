"""Comments: Facebook's webhook callback (M1, platform-apis.md §1.4), the review queue,
a comment's page with its appeal trail, and the comment policy (M3–M5).

The webhook needs no sign-in: Facebook calls it, and the signature (POST) or the verify
token (GET) is what lets a request in."""

import secrets

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import RequestDataTooBig
from django.core.paginator import Paginator
from django.http import HttpResponse, HttpResponseForbidden
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from accounts.models import Role
from accounts.permissions import role_required
from moderation import actions, ingest, policies, selectors
from moderation.forms import PolicyForm
from platforms import selectors as platform_selectors
from platforms.models import Platform


@csrf_exempt
@require_http_methods(["GET", "POST"])
def facebook_webhook(request):
    if request.method == "GET":
        return _verify_subscription(request)
    try:
        body = request.body
    except RequestDataTooBig:
        answer = ingest.refuse_oversized_webhook(size=int(request.META.get("CONTENT_LENGTH") or 0))
        return HttpResponse(status=answer.status)
    # Answered at once: the service queues the polls and removals for the workers.
    answer = ingest.receive_facebook_webhook(
        body=body, signature=request.headers.get("X-Hub-Signature-256")
    )
    return HttpResponse(status=answer.status)


def _verify_subscription(request):
    """The hub.challenge handshake: echo the challenge only to whoever knows our token."""
    expected = settings.SMC_FACEBOOK_WEBHOOK_VERIFY_TOKEN
    given = request.GET.get("hub.verify_token", "")
    if (
        not expected
        or request.GET.get("hub.mode") != "subscribe"
        or not secrets.compare_digest(given.encode(), expected.encode())
    ):
        return HttpResponseForbidden()
    return HttpResponse(request.GET.get("hub.challenge", ""), content_type="text/plain")


# --- The review queue, a comment's page, the policy (M3–M5) -------------------------

REVIEW_READERS = role_required(Role.ADMINISTRATOR, Role.SUPERVISOR, Role.AUDITOR)


@login_required
@REVIEW_READERS
def queue(request):
    """M4: the PIO's desk: held comments, released or kept hidden one by one or in bulk."""
    holds = Paginator(selectors.held_comments(viewer=request.membership), 100).get_page(
        request.GET.get("page")
    )
    policy = policies.stored_policy(request.agency)
    # Whether new comments are being held right now for the hour of the day (M4), so the
    # PIO reading the queue knows without opening the policy.
    outside_hours = policy.hold_outside_staffed_hours and not policies.is_staffed(
        policy, request.agency, timezone.now()
    )
    return render(request, "moderation/queue.html", {
        "page": holds,
        "policy": policy,
        "outside_staffed_hours": outside_hours,
        "can_review": actions.can_review(request.membership),
        "recent": selectors.recent_actions(viewer=request.membership),
    })  # fmt: skip


@require_POST
@login_required
@REVIEW_READERS
def review(request):
    single = request.POST.get("single", "")
    if single:
        decision, _sep, hold_id = single.partition(":")
        hold_ids = [hold_id] if hold_id.isdigit() else []
    else:
        decision = request.POST.get("decision", "")
        hold_ids = [pk for pk in request.POST.getlist("hold") if pk.isdigit()]
    try:
        outcome = actions.review(reviewer=request.membership, hold_ids=hold_ids, decision=decision)
    except actions.ReviewRefused as error:
        messages.error(request, error.message)
    else:
        n = outcome.decided
        if decision == actions.RELEASE:
            text = ngettext("%(n)s comment released.", "%(n)s comments released.", n)
        else:
            text = ngettext("%(n)s comment kept hidden.", "%(n)s comments kept hidden.", n)
        messages.success(request, text % {"n": n})
    return redirect("moderation:queue")


@login_required
@REVIEW_READERS
def comment_detail(request, comment_id):
    comment = selectors.get_comment_for(request.membership, comment_id)
    return render(request, "moderation/comment_detail.html", {
        "comment": comment,
        "visibility": actions.visibility(comment),
        "can_review": actions.can_review(request.membership),
        **selectors.comment_trail(comment=comment),
    })  # fmt: skip


@require_POST
@login_required
@REVIEW_READERS
def restore(request, comment_id):
    comment = selectors.get_comment_for(request.membership, comment_id)
    try:
        actions.restore(reviewer=request.membership, comment=comment)
    except actions.ReviewRefused as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("The comment will be shown again on the platform."))
    return redirect("moderation:comment_detail", comment_id=comment.pk)


@login_required
@REVIEW_READERS
def policy(request):
    """The agency's comment policy: read by reviewers and auditors, changed by
    administrators and supervisors (every change recorded)."""
    row = policies.stored_policy(request.agency)
    channels = list(platform_selectors.channels(viewer=request.membership))
    if request.method == "POST":
        form = PolicyForm(request.POST, channels=channels)
        if form.is_valid():
            try:
                policies.save_policy(editor=request.membership, change=form.change())
            except policies.PolicyRefused as error:
                form.add_error(None, error.message)
            else:
                messages.success(request, _("The comment policy is saved."))
                return redirect("moderation:policy")
    else:
        form = PolicyForm.initial_from(row, channels)
    return render(request, "moderation/policy.html", {
        "form": form, "policy": row, "can_edit": policies.can_edit_policy(request.membership),
        "limits": platform_limits(channels),
    })  # fmt: skip


def platform_limits(channels) -> list[tuple]:
    """Which connected platforms cannot hide or delete others' comments (platform-apis.md),
    so the policy page says so before it matters."""
    from platforms.adapters import get_adapter_class

    rows = []
    for platform in sorted({c.platform for c in channels}):
        adapter = get_adapter_class(platform)
        if not adapter.can_hide or not adapter.can_delete_comment:
            rows.append((dict(Platform.choices)[platform], adapter.can_hide,
                         adapter.can_delete_comment))  # fmt: skip
    return rows


@require_POST
@login_required
@REVIEW_READERS
def hold_switch(request):
    on = request.POST.get("on") == "1"
    try:
        policies.set_hold_switch(editor=request.membership, on=on)
    except policies.PolicyRefused as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Hold mode is on: every new comment is held.") if on
                         else _("Hold mode is off."))  # fmt: skip
    return redirect("moderation:policy" if request.POST.get("next") == "policy"
                    else "moderation:queue")  # fmt: skip
