#!/usr/bin/env bash
# Install everything the tests need (Python venv, Node FHIR test server, FHIR R4 examples) and run the suite.
# Debian packages the tests use for real: chromium (the trajectory app's browser tests, driven by
# Playwright) and nginx (the load balancer of the two-instance test). When one is missing, this
# installs it when run as root with apt-get, else it stops with the one command that installs them.
# PostgreSQL: the tests start a throwaway cluster of their own with the machine's server binaries
# (initdb, pg_ctl), unless NMD_CDS_TEST_PG_URL names a server to use.
set -euo pipefail
cd "$(dirname "$0")/.."
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx)
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        # A package must not start a system service (nginx on port 80): the tests run their own.
        policy=/usr/sbin/policy-rc.d; own_policy=
        if [ ! -e "$policy" ]; then printf '#!/bin/sh\nexit 101\n' >"$policy"; chmod +x "$policy"; own_policy=1; fi
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null \
            || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null; }
        if [ -n "$own_policy" ]; then rm -f "$policy"; fi
    else
        echo "missing ${missing[*]}: install with 'sudo apt-get install -y postgresql chromium nginx', then run this again" >&2
        exit 1
    fi
fi
if [ ! -x .venv/bin/python ]; then python3 -m venv .venv; fi
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[dev]'
.venv/bin/python -m tests.pg_cluster  # one line saying what to install when the binaries are missing
# The real FHIR server of the integration tests (Medplum's engine on its own Node 22, from npm).
(cd tests/fhir_server && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
# The official FHIR R4 examples for the corpus tests.
if [ ! -d .cache/fhir-r4-examples/package ]; then
    mkdir -p .cache/fhir-r4-examples
    (cd .cache/fhir-r4-examples && npm pack hl7.fhir.r4.examples@4.0.1 --silent >/dev/null && tar xzf hl7.fhir.r4.examples-4.0.1.tgz)
fi
exec .venv/bin/python -m pytest "$@"
