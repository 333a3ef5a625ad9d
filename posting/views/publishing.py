"""Where a post went (P3, P4): each channel's status and link; retry and delete."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from posting import selectors
from posting.services import PostingError, publishing


def _render(request, post, status=200):
    # The channel list is part of the post's page; on its own it is only the htmx partial.
    if not request.htmx:
        return redirect("posting:post_detail", post_id=post.pk)
    context = {"post": post, "publications": selectors.post_publications(post)}
    return render(request, "posting/_publications.html", context, status=status)


@login_required
def post_publications(request, post_id):
    """The channel list of one post (the post page includes the same partial; htmx
    refreshes it while the post is going out)."""
    return _render(request, selectors.get_post_for(request.membership, post_id))


def _act(request, publication_id, action, done_message):
    publication = selectors.get_publication_for(request.membership, publication_id)
    try:
        action(member=request.membership, publication=publication)
    except PostingError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, done_message % {"channel": publication.channel})
    if request.htmx:
        return _render(request, publication.post)
    return redirect("posting:post_detail", post_id=publication.post_id)


@require_POST
@login_required
def retry_publication(request, publication_id):
    return _act(request, publication_id, publishing.retry_publication,
                _("The post goes to %(channel)s again within seconds."))  # fmt: skip


@require_POST
@login_required
def delete_publication(request, publication_id):
    return _act(request, publication_id, publishing.delete_publication,
                _("The post is deleted from %(channel)s."))  # fmt: skip
