from django.conf import settings

from smc import request_context


def client_ip(request) -> str | None:
    # Behind a proxy we trust (SMC_BEHIND_PROXY), the client is the first forwarded hop.
    if getattr(settings, "SECURE_PROXY_SSL_HEADER", None):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.split(",")[0].strip() or None
    return request.META.get("REMOTE_ADDR") or None


class RequestContextMiddleware:
    """Gives each request an id (echoed as X-Request-ID) and its IP and device for audit."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = request_context.begin(
            ip=client_ip(request), user_agent=request.META.get("HTTP_USER_AGENT", "")
        )
        try:
            request.request_id = request_context.current().request_id
            response = self.get_response(request)
            response["X-Request-ID"] = request.request_id
            return response
        finally:
            request_context.end(token)
