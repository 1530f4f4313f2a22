from django.urls import path

from msa.dispatch import unit_views

app_name = "unit"

urlpatterns = [
    path("", unit_views.unit_home, name="home"),
    path("track/", unit_views.unit_track, name="track"),
    path("status/", unit_views.unit_status, name="status"),
    path("position/", unit_views.unit_position, name="position"),
    path("dispatches/<int:dispatch_id>/progress/", unit_views.unit_progress, name="progress"),
    path("dispatches/<int:dispatch_id>/outcome/", unit_views.unit_outcome, name="outcome"),
]
