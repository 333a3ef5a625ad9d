"""The archive of public comments as the agency reads it (M1, M5, M6): the comments of a
channel, one comment with every version and the decision on each, and the dry run of a
policy over an uploaded file. Comment text is untrusted: templates show it only through
the comment_text filters (escaped, invisible characters shown)."""

from itertools import islice

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import render
from django.utils.translation import gettext as _

from accounts.models import Role
from accounts.permissions import role_required
from moderation import selectors
from moderation.dry_run import DryRunError, decide_lines, dry_run_policy
from moderation.forms import DryRunForm
from platforms import selectors as channel_selectors

# Who reads the archive: the people who answer for it; auditors read and never write.
readers = role_required(Role.ADMINISTRATOR, Role.SUPERVISOR, Role.AUDITOR)
policy_tuners = role_required(Role.ADMINISTRATOR, Role.SUPERVISOR)

# The page shows every decision; a larger file is for `manage.py moderation_dry_run`.
DRY_RUN_MAX_LINES = 5000


@login_required
@readers
def comment_list(request):
    channels = channel_selectors.channels(viewer=request.membership)
    channel = None
    if request.GET.get("channel", "").isdigit():
        channel = channel_selectors.get_channel_for(request.membership, int(request.GET["channel"]))
    found = selectors.comments_for(request.membership, channel=channel)
    page = Paginator(found, 50).get_page(request.GET.get("page"))
    return render(request, "moderation/comment_list.html",
                  {"page": page, "channels": channels, "channel": channel})  # fmt: skip


@login_required
@readers
def comment_detail(request, comment_id):
    comment = selectors.get_comment_for(request.membership, comment_id)
    versions = selectors.comment_versions(comment=comment)
    return render(request, "moderation/comment_detail.html",
                  {"comment": comment, "versions": versions})  # fmt: skip


@login_required
@policy_tuners
def dry_run(request):
    policy = dry_run_policy(request.membership.agency)
    form = DryRunForm(request.POST or None, request.FILES or None)
    rows, error = None, ""
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            rows = list(islice(decide_lines(upload, policy), DRY_RUN_MAX_LINES + 1))
        except DryRunError as exc:
            error = _("The file was not read: %(why)s Nothing was decided.") % {"why": exc}
        else:
            if len(rows) > DRY_RUN_MAX_LINES:
                error = _(
                    "The file has more than %(n)s comments. Split it, or use "
                    "manage.py moderation_dry_run for large files."
                ) % {"n": DRY_RUN_MAX_LINES}
            elif not rows:
                error = _("The file has no comments in it.")
            if error:
                rows = None
    status = 400 if error or (request.method == "POST" and not form.is_valid()) else 200
    return render(request, "moderation/dry_run.html",
                  {"form": form, "rows": rows, "error": error, "policy": policy},
                  status=status)  # fmt: skip
