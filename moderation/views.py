"""Facebook's webhook callback (M1, platform-apis.md §1.4). No sign-in: Facebook calls it,
and the signature (POST) or the verify token (GET) is what lets a request in."""

import secrets

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpResponse, HttpResponseForbidden
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from moderation import ingest


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
