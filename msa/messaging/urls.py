from django.urls import path

from msa.messaging import views

app_name = "messaging"

urlpatterns = [
    path("undelivered/", views.undelivered, name="undelivered"),
    path("undelivered/retry/", views.retry, name="retry"),
]
