from django.urls import path

from audit import requests_views, retention_views, views

app_name = "audit"

urlpatterns = [
    path("", views.event_list, name="event_list"),
    path("events/<int:event_id>/", views.event_detail, name="event_detail"),
    path("records/<slug:source>/<str:record_id>/", views.record_detail, name="record_detail"),
    path("chain/", views.chain_status, name="chain_status"),
    path("retention/", retention_views.retention_rules, name="retention"),
    path("retention/set/", retention_views.set_retention, name="set_retention"),
    path("holds/", retention_views.hold_list, name="hold_list"),
    path("holds/<int:hold_id>/release/", retention_views.release_hold, name="release_hold"),
    path("requests/", requests_views.request_list, name="request_list"),
    path("requests/<int:request_id>/", requests_views.request_detail, name="request_detail"),
    path(
        "requests/<int:request_id>/package/",
        requests_views.request_package,
        name="request_package",
    ),
    path("exports/", views.export_list, name="export_list"),
    path("exports/<int:export_id>/", views.export_detail, name="export_detail"),
    path("exports/<int:export_id>/download/", views.export_download, name="export_download"),
]
