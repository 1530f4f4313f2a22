from django.urls import path

from msa.realtime.consumers import ConsoleConsumer
from msa.realtime.integration import IntegrationConsumer

# Staff consoles: a browser session, so the Origin is checked (cross-site WebSocket hijacking).
console_websocket_urlpatterns = [
    path("ws/console/<int:centre_id>/", ConsoleConsumer.as_asgi()),
]
# Machines: a bearer token per request, no cookies, and often no Origin header at all.
machine_websocket_urlpatterns = [
    path("ws/cic/v1/events", IntegrationConsumer.as_asgi()),
]
websocket_urlpatterns = console_websocket_urlpatterns + machine_websocket_urlpatterns
