#!/usr/bin/env bash
# Install everything the tests need (Python venv, Node FHIR test server, FHIR R4 examples) and run the suite.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then python3 -m venv .venv; fi
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[dev]'
# nginx (Debian package) is the real load balancer of the two-instance test (tests/ops).
if ! command -v nginx >/dev/null && [ ! -x /usr/sbin/nginx ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        # The package must not start a system nginx on port 80: the tests run their own.
        policy=/usr/sbin/policy-rc.d; own_policy=
        if [ ! -e "$policy" ]; then printf '#!/bin/sh\nexit 101\n' >"$policy"; chmod +x "$policy"; own_policy=1; fi
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q nginx >/dev/null \
            || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q nginx >/dev/null; }
        if [ -n "$own_policy" ]; then rm -f "$policy"; fi
    else
        echo "nginx is missing: install it with 'sudo apt-get install -y nginx'" >&2; exit 1
    fi
fi
# The real FHIR server of the integration tests (Medplum's engine on its own Node 22, from npm).
(cd tests/fhir_server && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
# The official FHIR R4 examples for the corpus tests.
if [ ! -d .cache/fhir-r4-examples/package ]; then
    mkdir -p .cache/fhir-r4-examples
    (cd .cache/fhir-r4-examples && npm pack hl7.fhir.r4.examples@4.0.1 --silent >/dev/null && tar xzf hl7.fhir.r4.examples-4.0.1.tgz)
fi
exec .venv/bin/python -m pytest "$@"
