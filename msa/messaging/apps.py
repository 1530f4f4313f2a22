from django.apps import AppConfig

from msa.messaging.providers import providers_check


class MessagingConfig(AppConfig):
    name = "msa.messaging"
    label = "messaging"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Refuse to start without a provider for every channel (the fake: the demo only)."""
        providers_check()
