"""From a card's link to the trajectory page in a real browser (Debian's chromium driven by Playwright),
through the full SMART EHR launch, against the service as it runs in production: gunicorn with two
worker processes (so the session store must be shared), the real SMART authorization server and the
real FHIR test server. The test plays the EHR: it calls the CDS service, takes a card's smart link,
asks the FHIR server's Sandbox launch endpoint for a launch id and opens the link as the CDS Hooks
Sandbox does (``<url>?launch=<id>&iss=<fhirBase>``); the user clicks Allow (or Deny).

Screenshots go to a temporary directory; ``NMD_CDS_TEST_UPDATE_SCREENSHOTS=1`` writes them to ``docs/``.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from service.fixtures.render import render_scenario
from tests.browser import MAX_SCREENSHOT_BYTES
from tests.conftest import TODAY
from tests.smart_server.server import SmartTestServer
from tests.trajectory.conftest import ALS, CLIENT_ID, DMD, SCENARIOS, patient_of

pytestmark = pytest.mark.fhir_server

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Service:
    """The service under gunicorn; ``log`` collects everything it writes (app logs and access log)."""

    base_url: str
    log_path: Path
    process: subprocess.Popen[bytes]

    def log_text(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    tmp = tmp_path_factory.mktemp("trajectory-service")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("NMD_CDS_")}
    env.update(
        NMD_CDS_HOST="127.0.0.1",
        NMD_CDS_PORT=str(port),
        NMD_CDS_WORKERS="2",
        NMD_CDS_AUTH="off",
        NMD_CDS_DEV_MODE="on",
        NMD_CDS_TODAY=TODAY.isoformat(),
        NMD_CDS_SQLITE_PATH=str(tmp / "service.sqlite3"),
        NMD_CDS_PATIENT_HASH_SECRET="trajectory-test",
        NMD_CDS_LOG_LEVEL="DEBUG",  # the strictest setting for the no-patient-data-in-logs check
    )
    log_path = tmp / "service.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-c",
                "python:service.gunicorn_conf",
                "service.app:create_app()",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    svc = Service(f"http://127.0.0.1:{port}", log_path, process)
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                pytest.fail(f"gunicorn exited ({process.returncode}):\n{svc.log_text()}", pytrace=False)
            try:
                if requests.get(f"{svc.base_url}/healthz", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"gunicorn did not answer within 60 s:\n{svc.log_text()}", pytrace=False)
            time.sleep(0.1)
        yield svc
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def ehr(smart: SmartTestServer, service: Service) -> SmartTestServer:
    smart.register_client(CLIENT_ID, f"{service.base_url}/app/callback")
    return smart


@dataclass
class Visit:
    """One launch in a fresh browser context: the page and every URL the browser requested."""

    page: Any
    urls: list[str] = field(default_factory=list)


def card_link(service: Service, name: str) -> dict:
    """The EHR calls the CDS service for the patient (full prefetch) and takes a card's smart link."""
    request = render_scenario(SCENARIOS[name], TODAY)["request"]
    cards = requests.post(
        f"{service.base_url}/cds-services/nmd-bone-health", json=request, timeout=30
    ).json()["cards"]
    assert cards, f"{name} gets no card to launch from"
    links = [link for card in cards for link in card["links"] if link["type"] == "smart"]
    assert len(links) == len(cards) and all(link == links[0] for link in links)
    assert links[0]["type"] == "smart" and links[0]["label"] == "Open bone & nutrition trajectory"
    assert links[0]["url"] == f"{service.base_url}/app/launch"
    return links[0]


def open_link(browser: Any, ehr: SmartTestServer, link: dict, patient: str, decision: str) -> Visit:
    """What the CDS Hooks Sandbox does with a smart link, then the user's click on the consent page."""
    answer = requests.post(
        f"{ehr.fhir_base}/_services/smart/Launch",
        json={"launchUrl": link["url"], "parameters": {"patient": patient}},
        timeout=10,
    )
    launch_id = answer.json()["launch_id"]
    context = browser.new_context(viewport={"width": 1000, "height": 1200})
    page = context.new_page()
    visit = Visit(page)
    page.on("request", lambda r: visit.urls.append(r.url))
    page.goto(f"{link['url']}?launch={launch_id}&iss={ehr.fhir_base}")
    page.click(f"#{decision}")
    page.wait_for_load_state("load")
    return visit


EXPECTED = {
    # chart figure id -> number of points drawn in it (every series)
    ALS: {"weight": 6, "bmi": 6, "fvc-percent": 2, "vital-capacity-litres": 2},
    DMD: {
        "bone-lumbar_spine-both": 3,
        "bmd-lumbar_spine-both": 3,
        "bone-total_hip-both": 3,
        "bmd-total_hip-both": 3,
        "weight": 6,
        "bmi-percentile": 6,
        "fvc-percent": 4,
    },
}
TIMELINE = {
    ALS: {},
    DMD: {
        "event-imaging-normal": 2,
        "event-imaging-vf": 1,
        "event-fracture-low": 1,
        "event-fracture-unconfirmed": 1,
        "episode-glucocorticoid": 1,
        "episode-bone-therapy": 1,
    },
}


@pytest.mark.parametrize("name", [ALS, DMD])
def test_from_a_card_link_through_the_smart_launch_to_the_trajectory_page(
    name, browser, ehr, service, screenshots
):
    patient = patient_of(name)
    link = card_link(service, name)
    visit = open_link(browser, ehr, link, patient, "allow")
    page = visit.page
    assert page.url == f"{service.base_url}/app/"
    assert page.locator("h1").inner_text() == "Bone, nutrition & breathing trajectory"
    for figure, points in EXPECTED[name].items():
        drawn = page.locator(f"#{figure}-svg g.point").count()
        assert drawn == points, f"{figure}: {drawn} points drawn, expected {points}"
        table_rows = page.locator(f"#{figure} details tbody tr").count()
        assert table_rows >= points  # the table alternative holds every point
    for cls, count in TIMELINE[name].items():
        assert page.locator(f"#timeline-svg .{cls}").count() == count, cls
    cards = page.locator("ul.cards li")
    expected_cards = SCENARIOS[name]["expected"]["cards"]
    assert cards.count() == len(expected_cards)
    assert {c["indicator"] for c in expected_cards} == {
        cards.nth(i).get_attribute("class") for i in range(cards.count())
    }
    for rule in {r for c in expected_cards for r in c["rules"]}:
        href = page.locator(f"ul.cards a:text-is('{rule}')").get_attribute("href")
        assert href == f"{service.base_url}/knowledge/rules/{rule}"
    # every SVG is labelled for assistive technology and has its table
    for svg in page.locator("svg.chart").all():
        assert svg.get_attribute("role") == "img" and svg.get_attribute("aria-labelledby")
    # no app URL the browser visited names the patient
    app_urls = [u for u in visit.urls if u.startswith(service.base_url)]
    assert app_urls and not [u for u in app_urls if patient in u]
    # prints on one A4 page
    pdf = page.pdf(format="A4")
    assert pdf.count(b"/Type /Page") - pdf.count(b"/Type /Pages") == 1
    short = "als" if name == ALS else "dmd"
    page.screenshot(path=str(screenshots / f"trajectory-{short}.png"), full_page=True)
    if short == "dmd":
        page.emulate_media(media="print")
        page.set_viewport_size({"width": 794, "height": 1123})
        page.screenshot(path=str(screenshots / "trajectory-dmd-print.png"), full_page=True)
    page.context.close()


def test_deny_on_the_consent_page_gives_a_clear_page(browser, ehr, service, screenshots):
    link = card_link(service, DMD)
    visit = open_link(browser, ehr, link, patient_of(DMD), "deny")
    page = visit.page
    assert urlsplit(page.url).path == "/app/callback"
    assert page.locator("h1").inner_text() == "Authorization refused"
    assert "No patient data was read" in page.inner_text("body")
    assert ehr.fhir_requests == []
    page.screenshot(path=str(screenshots / "trajectory-refused.png"))
    page.context.close()


def test_no_patient_data_or_token_in_the_service_logs_of_a_full_launch(browser, ehr, service):
    before = len(service.log_text())
    name = DMD
    patient = patient_of(name)
    visit = open_link(browser, ehr, card_link(service, name), patient, "allow")
    assert visit.page.locator("#timeline-svg").count() == 1
    visit.page.reload()  # a second read with the same session
    visit.page.context.close()
    time.sleep(0.5)  # gunicorn writes the access log line after the response
    logs = service.log_text()[before:]
    lines = logs.splitlines()
    assert any('"event": "app_page"' in line for line in lines), logs[-2000:]
    assert any("/app/callback" in line for line in lines)  # the access log is in there too
    resource = next(r for r in SCENARIOS[name]["resources"] if r["resourceType"] == "Patient")
    name_parts = resource["name"][0]["given"] + [resource["name"][0]["family"]]
    secrets_seen = [t.access_token for t in ehr.tokens.values()]
    callback = next(u for u in visit.urls if "/app/callback?" in u)
    query = parse_qs(urlsplit(callback).query)
    launch = parse_qs(urlsplit(next(u for u in visit.urls if "/app/launch?" in u)).query)["launch"][0]
    forbidden = [patient, *name_parts, *secrets_seen, query["code"][0], query["state"][0], launch]
    assert secrets_seen and all(forbidden)
    for line in lines:
        for value in forbidden:
            assert value not in line, f"{value!r} in the service log: {line}"


def test_screenshots_are_small_enough_to_commit() -> None:
    """The committed screenshots exist and stay small (regenerate: NMD_CDS_TEST_UPDATE_SCREENSHOTS=1)."""
    for name in (
        "trajectory-als.png",
        "trajectory-dmd.png",
        "trajectory-dmd-print.png",
        "trajectory-refused.png",
    ):
        path = ROOT / "docs" / name
        assert path.exists(), (
            f"docs/{name} is missing: run the browser tests with NMD_CDS_TEST_UPDATE_SCREENSHOTS=1"
        )
        assert path.stat().st_size < MAX_SCREENSHOT_BYTES, f"docs/{name} is {path.stat().st_size} bytes"
