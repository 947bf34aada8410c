"""gunicorn settings from the service's own configuration (NMD_CDS_HOST, NMD_CDS_PORT, NMD_CDS_WORKERS ...).

Used by the run script and the Docker image: ``gunicorn -c python:service.gunicorn_conf`` (the app is
``wsgi_app`` below). Configuration errors refuse start-up with one line each and exit status 2, before
gunicorn binds its port. The app is loaded once in the master (preload) and its long-lived objects are
frozen out of the cycle collector, so workers share them and GC passes stay short.

Workers: gevent (``service.gunicorn_worker.Worker``), one process per core. A slow client costs a
greenlet, and the worker reads each request's body whole, within NMD_CDS_BODY_READ_TIMEOUT_S, before the
app runs: 50 connections sending a byte a second do not delay anyone else (see README "Slow clients").
gevent must patch the standard library before the app (and psycopg, which picks its wait function at
import) is loaded: that is done here, in the master; os, signal and subprocess stay unpatched there (the
arbiter forks, reaps and handles signals itself) and are patched in each worker by gunicorn.

Metrics: every worker writes to ``PROMETHEUS_MULTIPROC_DIR`` (a fresh folder unless set), which
``GET /metrics`` sums over workers.
"""

import atexit
import gc
import os
import shutil
import sys
import tempfile
import warnings

from service.config import ConfigError, Settings


def _refuse(exc: ConfigError) -> None:
    for line in exc.lines():
        print(line, file=sys.stderr)
    _remove_metrics_dir()
    raise SystemExit(2)


def _remove_metrics_dir() -> None:
    """Only the master removes the folder it created (workers inherit atexit handlers too)."""
    folder = globals().get("_metrics_dir")
    if globals().get("_own_metrics_dir") and folder and os.getpid() == _master_pid:
        shutil.rmtree(folder, ignore_errors=True)


_master_pid = os.getpid()


try:
    _settings = Settings.from_env()
    _settings.check(serving=True)
except ConfigError as _exc:
    _refuse(_exc)

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # "patching ssl after ssl was imported": gunicorn uses no TLS here
    from gevent import monkey

    monkey.patch_all(os=False, signal=False, subprocess=False)

_metrics_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
if _metrics_dir:
    for _name in os.listdir(_metrics_dir):  # counters of a previous run must not be summed in
        if _name.endswith(".db"):
            os.unlink(os.path.join(_metrics_dir, _name))
else:
    _metrics_dir = os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="nmd-cds-metrics-")
    _own_metrics_dir = True
    atexit.register(_remove_metrics_dir)

bind = f"{_settings.host}:{_settings.port}"
workers = _settings.workers
worker_class = "service.gunicorn_worker.Worker"
worker_connections = 1000
logger_class = "service.gunicorn_worker.JsonLogger"
accesslog = "-"
# Path without the query string, and no Referer: OAuth callbacks carry codes and states in the query,
# and an EHR page's URL (the referrer) may name the patient.
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s "%(a)s"'
timeout = 30
graceful_timeout = 10
keepalive = 5
# A bearer token may be 16 KiB (service.security.auth.MAX_TOKEN_CHARS): larger headers get a JSON 431.
limit_request_field_size = 20 * 1024
preload_app = True
control_socket_disable = True  # gunicorn >= 25 opens ~/.gunicorn/gunicorn.ctl: one per user, not per instance
wsgi_app = "service.gunicorn_conf:application()"


def application():  # noqa: ANN201 - the WSGI app; imported lazily so the config stays light
    """The app, or one line per configuration problem and exit status 2 (no traceback)."""
    from service.app import create_app

    try:
        return create_app(_settings)
    except ConfigError as exc:
        _refuse(exc)


def when_ready(server):  # noqa: ARG001 - gunicorn hook signature
    gc.freeze()


def child_exit(server, worker):  # noqa: ARG001 - gunicorn hook signature
    from service.metrics import mark_process_dead

    mark_process_dead(worker.pid)


def on_exit(server):  # noqa: ARG001 - gunicorn hook signature
    _remove_metrics_dir()
