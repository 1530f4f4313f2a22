from django.urls import path

from msa.devices import views

app_name = "devices"

urlpatterns = [
    path("inventory/", views.inventory_list, name="inventory"),
    path("health/", views.device_report, name="report"),
]
