from django.urls import path

from posting.views import approval, compose, publishing

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
# --- Compose (P1, P5) ---
urlpatterns += [
    path("mine/", compose.post_list, name="post_list"),
    path("new/", compose.compose_new, name="compose"),
    path("autosave/", compose.autosave, name="autosave"),
    path("photos/", compose.photo_upload, name="photo_upload"),
    path("photos/<int:photo_id>/", compose.photo, name="photo"),
    path("photos/<int:photo_id>/original/", compose.photo_original, name="photo_original"),
    path("<int:post_id>/", compose.post_detail, name="post_detail"),
    path("<int:post_id>/edit/", compose.compose_edit, name="compose_edit"),
    path("<int:post_id>/withdraw/", compose.withdraw, name="withdraw"),
    path(
        "<int:post_id>/photos/<int:photo_id>/remove/", compose.photo_remove, name="photo_remove"
    ),  # fmt: skip
]
