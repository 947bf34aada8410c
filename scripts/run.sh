#!/usr/bin/env bash
# Start the service on http://127.0.0.1:${NMD_CDS_PORT:-8080}: creates .venv and installs on first use.
# Local development defaults: authentication off and dev mode on, unless set in the environment.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then python3 -m venv .venv; fi
.venv/bin/python -m pip install -q --disable-pip-version-check -e .
export NMD_CDS_AUTH="${NMD_CDS_AUTH:-off}"
export NMD_CDS_DEV_MODE="${NMD_CDS_DEV_MODE:-on}"
exec .venv/bin/gunicorn -c python:service.gunicorn_conf
