"""ASGI entry point for uvicorn and other servers: `app.asgi:app`."""

import gc

from app.main import create_app

app = create_app()

# Everything built so far (modules, routes, metadata) lives as long as the process. Moving it out of
# the collector's reach keeps full collections short, and those pauses were the latency tail.
gc.collect()
gc.freeze()
