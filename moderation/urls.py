from django.urls import path

from moderation import views

app_name = "moderation"

urlpatterns = [
    path("webhooks/facebook/", views.facebook_webhook, name="facebook_webhook"),
    path("queue/", views.queue, name="queue"),
    path("queue/review/", views.review, name="review"),
    path("queue/hold-switch/", views.hold_switch, name="hold_switch"),
    path("comments/<int:comment_id>/", views.comment_detail, name="comment_detail"),
    path("comments/<int:comment_id>/restore/", views.restore, name="restore"),
    path("policy/", views.policy, name="policy"),
    path("alerts/", views.alerts, name="alerts"),
    path("alerts/read/", views.alerts_read, name="alerts_read"),
]
