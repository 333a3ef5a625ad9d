from django.urls import path  # noqa: F401 - each topic below adds its routes

from posting.views import publishing

app_name = "posting"

# One block per topic (compose, approval, publishing); views live in posting/views/.
urlpatterns = []

# Publishing (P3, P4)
urlpatterns += [
    path("<int:post_id>/channels/", publishing.post_publications, name="post_publications"),
    path("channels/<int:publication_id>/retry/", publishing.retry_publication,
         name="retry_publication"),
    path("channels/<int:publication_id>/delete/", publishing.delete_publication,
         name="delete_publication"),
]  # fmt: skip
