from django.urls import path

from audit import views

app_name = "audit"

urlpatterns = [
    path("", views.event_list, name="event_list"),
    path("events/<int:event_id>/", views.event_detail, name="event_detail"),
    path("records/<slug:source>/<str:record_id>/", views.record_detail, name="record_detail"),
    path("chain/", views.chain_status, name="chain_status"),
    path("exports/", views.export_list, name="export_list"),
    path("exports/<int:export_id>/", views.export_detail, name="export_detail"),
    path("exports/<int:export_id>/download/", views.export_download, name="export_download"),
]
