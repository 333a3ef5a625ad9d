from django.urls import path

from platforms import views

app_name = "platforms"

urlpatterns = [
    path("", views.channel_list, name="channel_list"),
    path("<int:channel_id>/", views.channel_detail, name="channel_detail"),
    path("<int:channel_id>/disconnect/", views.disconnect, name="disconnect"),
]
