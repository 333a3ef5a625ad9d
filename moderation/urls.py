from django.urls import path

from moderation import views

app_name = "moderation"

urlpatterns = [
    path("webhooks/facebook/", views.facebook_webhook, name="facebook_webhook"),
]
