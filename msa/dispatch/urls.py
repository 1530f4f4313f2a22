from django.urls import path

from msa.dispatch import views

app_name = "console"

urlpatterns = [
    path("", views.home, name="home"),
    path("<int:centre_id>/queue/", views.queue, name="queue"),
    path("incidents/<str:reference>/", views.incident_detail, name="incident"),
    path(
        "incidents/<str:reference>/acknowledge/",
        views.incident_acknowledge_view,
        name="acknowledge",
    ),
]
