"""The ASGI application of the collector (and, in embedded mode, of the whole port)."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from clicklake import __version__
from clicklake.config import Settings
from clicklake.schema import SCHEMA_HASH, json_schema_bytes


async def healthz(request: Request) -> Response:
    """Alive: answers as long as the process serves HTTP."""
    return JSONResponse({"status": "ok", "version": __version__})


async def schema_v1(request: Request) -> Response:
    """The published JSON Schema of one ingest event."""
    return Response(
        json_schema_bytes(),
        media_type="application/schema+json",
        headers={
            "Cache-Control": "public, max-age=300",
            "ETag": f'"{SCHEMA_HASH}"',
            "Access-Control-Allow-Origin": "*",
        },
    )


def create_app(settings: Settings) -> Starlette:
    """Build the app for these settings."""
    app = Starlette(
        routes=[
            Route("/healthz", healthz, methods=["GET", "HEAD"]),
            Route("/schema/v1.json", schema_v1, methods=["GET", "HEAD"]),
        ]
    )
    app.state.settings = settings
    return app
