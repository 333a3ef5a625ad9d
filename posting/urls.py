from django.urls import path  # noqa: F401 - each topic below adds its routes

from posting.views import approval, publishing

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
# Publishing (P3, P4)
urlpatterns += [
    path("<int:post_id>/channels/", publishing.post_publications, name="post_publications"),
    path("channels/<int:publication_id>/retry/", publishing.retry_publication,
         name="retry_publication"),
    path("channels/<int:publication_id>/delete/", publishing.delete_publication,
         name="delete_publication"),
]  # fmt: skip
