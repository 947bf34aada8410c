"""A child process standing in for one gunicorn worker: its own app, answering GETs sent over a pipe.

Started with the ``spawn`` method, so nothing (no connection, no in-process replay cache) is inherited.
The parent signs the tokens: the child only knows the issuers file.
"""

from __future__ import annotations

from multiprocessing.connection import Connection

from service.app import create_app
from service.config import Settings


def serve(settings: Settings, pipe: Connection) -> None:
    """Answer each ``(path, headers)`` received with the status code; stop on ``None``."""
    client = create_app(settings).test_client()
    pipe.send("ready")
    while (job := pipe.recv()) is not None:
        path, headers = job
        pipe.send(client.get(path, headers=headers).status_code)
