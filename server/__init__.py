"""The bundled aiohttp server: member web view, JSON API and live websocket."""
