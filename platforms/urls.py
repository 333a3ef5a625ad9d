from django.urls import path

from platforms import views

app_name = "platforms"

urlpatterns = [
    path("", views.channel_list, name="channel_list"),
    path("<int:channel_id>/", views.channel_detail, name="channel_detail"),
    path("<int:channel_id>/disconnect/", views.disconnect, name="disconnect"),
    path("<int:channel_id>/people/", views.set_people, name="set_people"),
    path("<int:channel_id>/publishers/", views.set_publishers, name="set_publishers"),
    path("<int:channel_id>/approval/", views.set_channel_approval, name="set_channel_approval"),
    path("connect/", views.connect_choose, name="connect"),
    path("connect/mastodon/", views.connect_mastodon, name="connect_mastodon"),
    path("connect/bluesky/", views.connect_bluesky, name="connect_bluesky"),
    path("connect/<str:platform>/start/", views.connect_start, name="connect_start"),
    path("connect/<str:platform>/callback/", views.connect_callback, name="connect_callback"),
]
