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
]
