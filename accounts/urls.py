from django.urls import path

from accounts import views

app_name = "accounts"

urlpatterns = [
    path("switch/", views.switch_agency, name="switch_agency"),
    path("me/", views.my_account, name="my_account"),
    path("members/", views.member_list, name="member_list"),
    path("members/<int:membership_id>/", views.member_detail, name="member_detail"),
    path("members/<int:membership_id>/role/", views.change_role, name="change_role"),
    path("members/<int:membership_id>/unit/", views.change_unit, name="change_unit"),
    path("members/<int:membership_id>/remove/", views.remove_member, name="remove_member"),
    path("invitations/", views.invitation_list, name="invitation_list"),
    path(
        "invitations/<int:invitation_id>/withdraw/",
        views.withdraw_invitation,
        name="withdraw_invitation",
    ),
    path("join/<str:token>/", views.accept_invitation, name="accept_invitation"),
    path("units/", views.unit_list, name="unit_list"),
    path("security/", views.security_settings, name="security_settings"),
    # Authority (A3–A5) and notifications
    path("units/<int:unit_id>/", views.unit_detail, name="unit_detail"),
    path("units/<int:unit_id>/supervisors/", views.set_supervisors, name="set_supervisors"),
    path("units/escalation/", views.set_escalation, name="set_escalation"),
    path(
        "members/<int:membership_id>/approval/",
        views.set_member_approval,
        name="set_member_approval",
    ),
    path("members/<int:membership_id>/training/", views.record_training, name="record_training"),
    path("notifications/", views.notification_list, name="notification_list"),
    path(
        "notifications/<int:notification_id>/open/",
        views.open_notification,
        name="open_notification",
    ),
    path("notifications/read/", views.read_all_notifications, name="read_all_notifications"),
]
