#!/usr/bin/env bash
# Install everything the tests need (Python venv, Node FHIR test server, FHIR R4 examples) and run the suite.
# PostgreSQL: the tests start a throwaway cluster of their own with the machine's server binaries
# (initdb, pg_ctl), unless NMD_CDS_TEST_PG_URL names a server to use.
set -euo pipefail
cd "$(dirname "$0")/.."
# Debian packages the tests need: chromium (the trajectory app's browser tests; Playwright drives it).
if [ ! -x /usr/bin/chromium ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    else
        echo "chromium is missing: install it with 'sudo apt-get install -y chromium', then run this again" >&2
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
