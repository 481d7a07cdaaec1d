"""ASGI entry point: HTTP through Django, websockets through Channels with tenant routing."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nimbus.settings.dev")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import path  # noqa: E402

from apps.tenancy.consumers import TenantPresenceConsumer  # noqa: E402
from apps.tenancy.middleware import TenantWebsocketMiddleware  # noqa: E402

websocket_urlpatterns = [
    path("ws/tenant/", TenantPresenceConsumer.as_asgi()),
]

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": TenantWebsocketMiddleware(URLRouter(websocket_urlpatterns)),
    }
)
