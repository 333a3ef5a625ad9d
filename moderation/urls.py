from django.urls import path

from moderation import comment_views, views

app_name = "moderation"

urlpatterns = [
    path("webhooks/facebook/", views.facebook_webhook, name="facebook_webhook"),
    path("comments/", comment_views.comment_list, name="comment_list"),
    path("comments/<int:comment_id>/", comment_views.comment_detail, name="comment_detail"),
    path("dry-run/", comment_views.dry_run, name="dry_run"),
]
