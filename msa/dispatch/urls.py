from django.urls import path

from msa.dispatch import views

app_name = "console"

urlpatterns = [
    path("", views.home, name="home"),
    path("<int:centre_id>/queue/", views.queue, name="queue"),
    path("supervisor/", views.supervisor, name="supervisor"),
    path("supervisor/<int:centre_id>/live/", views.supervisor_live, name="supervisor_live"),
    path(
        "incidents/<str:reference>/reassign/",
        views.incident_reassign_view,
        name="reassign",
    ),
    path("incidents/<str:reference>/", views.incident_detail, name="incident"),
    path("incidents/<str:reference>/live/", views.incident_live, name="incident_live"),
    path(
        "incidents/<str:reference>/acknowledge/",
        views.incident_acknowledge_view,
        name="acknowledge",
    ),
    path("incidents/<str:reference>/note/", views.incident_note_view, name="note"),
    path("incidents/<str:reference>/dispatch/", views.incident_dispatch_view, name="dispatch"),
    path(
        "incidents/<str:reference>/dispatches/<int:dispatch_id>/progress/",
        views.dispatch_progress_view,
        name="progress",
    ),
    path("incidents/<str:reference>/outcome/", views.incident_outcome_view, name="outcome"),
    path("incidents/<str:reference>/close/", views.incident_close_view, name="close"),
    path("incidents/<str:reference>/reopen/", views.incident_reopen_view, name="reopen"),
    path("incidents/<str:reference>/tracking/", views.incident_tracking_view, name="tracking"),
]
