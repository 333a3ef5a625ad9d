from django.urls import include, path

from smc import views

urlpatterns = [
    path("", views.home, name="home"),
    path("health/", views.health, name="health"),
    path("", include("allauth.urls")),
    path("accounts/", include("accounts.urls")),
    path("channels/", include("platforms.urls")),
    path("posts/", include("posting.urls")),
    path("moderation/", include("moderation.urls")),
    path("record/", include("audit.urls")),
]

handler400 = "smc.views.bad_request"
handler403 = "smc.views.permission_denied"
handler404 = "smc.views.page_not_found"
handler500 = "smc.views.server_error"
