from django.urls import path

from msa.realtime.consumers import ConsoleConsumer
from msa.realtime.integration import IntegrationConsumer

websocket_urlpatterns = [
    path("ws/console/<int:centre_id>/", ConsoleConsumer.as_asgi()),
    path("ws/cic/v1/events", IntegrationConsumer.as_asgi()),
]
