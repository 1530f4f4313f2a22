from django.urls import path

from msa.stats import views

app_name = "stats"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("indicators.csv", views.export_csv, name="csv"),
    path("report.pdf", views.export_pdf, name="pdf"),
    path("research/", views.research, name="research"),
]
