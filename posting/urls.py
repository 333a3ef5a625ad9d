from django.urls import path  # noqa: F401 - each topic below adds its routes

from posting.views import approval

app_name = "posting"

# One block per topic (compose, approval, publishing); views live in posting/views/.
urlpatterns = []

# --- Approval (P2) ---
urlpatterns += [
    path("approvals/", approval.approval_queue, name="approval_queue"),
    path("<int:post_id>/review/", approval.review, name="review"),
    path("<int:post_id>/approve/", approval.approve, name="approve"),
    path("<int:post_id>/reject/", approval.reject, name="reject"),
    path("<int:post_id>/changes/", approval.changes, name="changes"),
]
