from django.apps import AppConfig


class AlarmsConfig(AppConfig):
    name = "msa.alarms"
    label = "alarms"
    default_auto_field = "django.db.models.BigAutoField"
