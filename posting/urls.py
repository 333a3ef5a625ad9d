from django.urls import path

from posting.views import compose

app_name = "posting"

# One block per topic (compose, approval, publishing); views live in posting/views/.
urlpatterns = [
    # compose (P1, P5)
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
