from django.urls import path

from clientela.identity import views

app_name = "identity"

urlpatterns = [
    path("login/", views.login_view, name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("password/reset/", views.password_reset, name="password_reset"),
    path("password/reset/sent/", views.password_reset_done, name="password_reset_done"),
    path("password/reset/done/", views.password_reset_complete, name="password_reset_complete"),
    path(
        "password/reset/<uidb64>/<token>/",
        views.password_reset_confirm,
        name="password_reset_confirm",
    ),
    path("me/", views.profile, name="profile"),
    path("me/password/", views.password_change, name="password_change"),
    path("me/tokens/", views.token_list, name="token_list"),
    path("me/tokens/new/", views.token_create, name="token_create"),
    path("me/tokens/<int:pk>/revoke/", views.token_revoke, name="token_revoke"),
    path("settings/users/", views.user_list, name="user_list"),
    path("settings/users/invite/", views.user_invite_view, name="user_invite"),
    path("settings/users/<int:pk>/", views.user_edit, name="user_edit"),
    path("settings/users/<int:pk>/deactivate/", views.user_deactivate_view, name="user_deactivate"),
    path("settings/users/<int:pk>/reactivate/", views.user_reactivate_view, name="user_reactivate"),
    path("settings/teams/", views.team_list, name="team_list"),
    path("settings/teams/new/", views.team_create_view, name="team_create"),
    path("settings/teams/<int:pk>/", views.team_edit, name="team_edit"),
    path("settings/teams/<int:pk>/delete/", views.team_delete_view, name="team_delete"),
]
