from django.urls import path  # noqa: F401 - each topic below adds its routes

app_name = "posting"

# One block per topic (compose, approval, publishing); views live in posting/views/.
urlpatterns = []
