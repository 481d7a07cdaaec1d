"""Websocket endpoints of the tenancy app."""

from __future__ import annotations

from channels.generic.websocket import AsyncJsonWebsocketConsumer

from .realtime import tenant_database_sync_to_async, tenant_group


def _tenant_summary() -> dict:
    from django.db import connection

    return {"schema": connection.schema_name}


class TenantPresenceConsumer(AsyncJsonWebsocketConsumer):
    """``/ws/tenant/``: for a signed-in user, says which tenant the socket reached and relays its broadcasts.

    Proves the websocket path keeps tenant context: the Host header picks
    the tenant, database calls run in its schema, and the group is its own.
    """

    async def connect(self):
        if not self.scope["user"].is_authenticated:
            await self.close(code=4401)  # signed-in users of this tenant only
            return
        self.schema_name = self.scope["schema_name"]
        self.group = tenant_group(self.schema_name, "broadcast")
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        summary = await tenant_database_sync_to_async(self.schema_name, _tenant_summary)()
        await self.send_json({"type": "hello", "tenant": self.scope["tenant"].slug, **summary})

    async def disconnect(self, code):
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content, **kwargs):
        # Clients only listen; anything they send is answered with an error, not relayed.
        await self.send_json({"type": "error", "detail": "This socket does not accept messages."})

    async def tenant_broadcast(self, event):
        await self.send_json({"type": "broadcast", "payload": event.get("payload")})
