from django.urls import path

from moderation import comment_views, views

app_name = "moderation"

urlpatterns = [
    path("webhooks/facebook/", views.facebook_webhook, name="facebook_webhook"),
    path("comments/", comment_views.comment_list, name="comment_list"),
    path("dry-run/", comment_views.dry_run, name="dry_run"),
    path("queue/", views.queue, name="queue"),
    path("queue/review/", views.review, name="review"),
    path("queue/hold-switch/", views.hold_switch, name="hold_switch"),
    path("comments/<int:comment_id>/", views.comment_detail, name="comment_detail"),
    path("comments/<int:comment_id>/restore/", views.restore, name="restore"),
    path("policy/", views.policy, name="policy"),
]
