from django.urls import path

from msa.accounts import views

urlpatterns = [
    path("otp/", views.otp_verify, name="otp-verify"),
    path("otp/enrol/", views.otp_enrol, name="otp-enrol"),
    path("otp/recovery-codes/", views.recovery_codes, name="otp-recovery-codes"),
    path("language/", views.language_set, name="language"),
]
