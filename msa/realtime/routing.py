from django.urls import path

from msa.realtime.consumers import ConsoleConsumer

websocket_urlpatterns = [
    path("ws/console/<int:centre_id>/", ConsoleConsumer.as_asgi()),
]
