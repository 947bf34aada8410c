"""Run the SMART test set-up by hand (a local EHR for the trajectory app and the CDS Hooks Sandbox):

    .venv/bin/python -m tests.smart_server --port 8091

starts the FHIR test server (Medplum engine, in memory), loads the fixture scenarios rendered for
``--today`` and serves, on http://127.0.0.1:8091: ``/fhir`` (the ``iss``: SMART configuration, the
Sandbox's launch endpoint, FHIR reads — open without a token, as the Sandbox needs), ``/authorize``
(consent page) and ``/token``. Ctrl-C stops it.
"""

from __future__ import annotations

import argparse
import time
from datetime import date

from service.fixtures.render import load_scenarios, render_scenario
from tests.fhir_server.harness import FhirTestServer
from tests.smart_server.server import SmartTestServer


def main() -> None:
    ap = argparse.ArgumentParser(prog="python -m tests.smart_server", description=__doc__)
    ap.add_argument("--port", type=int, default=8091)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--client-id", default="nmd-cds-trajectory")
    ap.add_argument(
        "--redirect-uri",
        action="append",
        help="the app's redirect URI (repeatable; default: localhost and 127.0.0.1 on port 8080)",
    )
    ap.add_argument("--today", type=date.fromisoformat, default=date(2026, 11, 21))
    ap.add_argument("--protected", action="store_true", help="refuse FHIR reads without a token")
    args = ap.parse_args()
    with FhirTestServer() as fhir:
        for scenario in load_scenarios():
            fhir.load_bundle(render_scenario(scenario, args.today)["bundle"])
        smart = SmartTestServer(fhir, open_reads=not args.protected)
        redirects = args.redirect_uri or [f"http://{h}:8080/app/callback" for h in ("localhost", "127.0.0.1")]
        smart.register_client(args.client_id, *redirects)
        smart.start(args.port, args.host)
        print(f"SMART test EHR: iss {smart.fhir_base} (client {args.client_id} -> {', '.join(redirects)})")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
        finally:
            smart.stop()


if __name__ == "__main__":
    main()
