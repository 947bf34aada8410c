"""gunicorn settings from the service's own configuration (NMD_CDS_HOST, NMD_CDS_PORT, NMD_CDS_WORKERS).

Used by the run script and the Docker image:
``gunicorn -c python:service.gunicorn_conf 'service.app:create_app()'``.
The app is loaded once in the master (configuration errors stop start-up before any worker forks) and
its long-lived objects are frozen out of the cycle collector, so workers share them and GC passes stay short.
"""

import gc

from service.config import Settings

_settings = Settings.from_env()

bind = f"{_settings.host}:{_settings.port}"
workers = _settings.workers
# Threaded workers: a client that opens a connection and sends nothing ties up a thread's wait in
# the event loop, not a whole worker (with sync workers two idle sockets stalled the service).
worker_class = "gthread"
threads = _settings.threads
accesslog = "-"
# Path without the query string, and no Referer: OAuth callbacks carry codes and states in the query,
# and an EHR page's URL (the referrer) may name the patient.
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s "%(a)s"'
timeout = 30
graceful_timeout = 10
preload_app = True


def when_ready(server):  # noqa: ARG001 - gunicorn hook signature
    gc.freeze()
