from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render


@login_required
def home(request):
    """For those who approve, the desk's main panel is the approval queue (P2)."""
    context = {}
    member = getattr(request, "membership", None)
    if member is not None and member.role in ("administrator", "supervisor"):
        from posting import queue

        page = queue.approval_page(viewer=member, number=1, per_page=10)
        context = {
            "approvals": queue.with_clock(page.object_list, request.agency),
            "approvals_count": page.paginator.count,
        }
    return render(request, "home.html", context)


def health(request):
    """For load balancers and docker-compose: the database answers."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


def page_not_found(request, exception):
    return render(request, "404.html", {"message": _message(exception)}, status=404)


def permission_denied(request, exception):
    return render(request, "403.html", {"message": _message(exception)}, status=403)


def server_error(request):
    return render(request, "500.html", {"request_id": getattr(request, "request_id", "")},
                  status=500)  # fmt: skip


def bad_request(request, exception):
    return render(request, "400.html", status=400)


def _message(exception) -> str:
    text = str(exception) if exception else ""
    # Django's own resolver messages ("Resolver404 ...") are for developers, not people.
    return text if text and not text.startswith("{") and "Resolver404" not in text else ""
