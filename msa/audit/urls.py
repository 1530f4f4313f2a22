from django.urls import path

from msa.audit import views

app_name = "audit"

urlpatterns = [
    path("", views.audit_list, name="list"),
    path("reason/<int:case_id>/", views.dossier_reason_view, name="reason"),
]
