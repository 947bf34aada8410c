"""The SMART EHR launch of the trajectory app, in process (Flask test client) against the real SMART
authorization server and FHIR test server: every step, every refusal, and the page each one gives."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

import pytest

from service.app import create_app
from service.config import Settings
from service.trajectory.routes import COOKIE, SESSIONS
from tests.smart_server.server import SmartTestServer
from tests.trajectory.conftest import ALS, CLIENT_ID, DMD, EMPTY_PATIENT, Consent, patient_of, query_of

pytestmark = pytest.mark.fhir_server

CALLBACK = "http://localhost/app/callback"


@pytest.fixture
def app(settings: Settings, smart: SmartTestServer):
    smart.register_client(CLIENT_ID, CALLBACK)
    return create_app(settings)


@pytest.fixture
def client(app):
    return app.test_client()


def launch(client, smart: SmartTestServer, patient: str) -> str:
    """The EHR opens the card's smart link: returns the app's redirect to the authorization endpoint."""
    launch_id = smart.new_launch(patient)
    resp = client.get(f"/app/launch?launch={launch_id}&iss={smart.fhir_base}")
    assert resp.status_code == 302, resp.get_data(as_text=True)
    return resp.headers["Location"]


def authorize(client, smart: SmartTestServer, patient: str, allow: bool = True):
    """Launch, consent, callback: returns the callback's response (a redirect to the page on success)."""
    back = Consent(smart).answer(launch(client, smart, patient), allow)
    assert back.startswith(CALLBACK + "?")
    parts = urlsplit(back)
    return client.get(f"{parts.path}?{parts.query}")


def test_the_launch_asks_for_read_scopes_of_the_rules_resource_types_with_pkce(client, smart):
    location = launch(client, smart, patient_of(ALS))
    assert location.startswith(f"{smart.base_url}/authorize?")
    q = query_of(location)
    assert q["response_type"] == "code" and q["client_id"] == CLIENT_ID and q["redirect_uri"] == CALLBACK
    assert (
        q["aud"] == smart.fhir_base
        and q["code_challenge_method"] == "S256"
        and len(q["code_challenge"]) == 43
    )
    assert q["state"] and q["launch"]
    scopes = q["scope"].split()
    assert scopes[0] == "launch"
    # permission-v2 server: SMART 2 scopes, read/search only, exactly the resource types the prefetch reads
    assert sorted(scopes[1:]) == sorted(
        f"patient/{t}.rs"
        for t in (
            "Condition",
            "DiagnosticReport",
            "MedicationAdministration",
            "MedicationRequest",
            "MedicationStatement",
            "Observation",
            "Patient",
            "Procedure",
            "ServiceRequest",
        )
    )
    cookie = client.get_cookie(COOKIE, path="/app/")
    assert cookie is not None and cookie.http_only and cookie.same_site == "Lax"
    assert patient_of(ALS) not in location


@pytest.mark.parametrize("name", [ALS, DMD])
def test_full_launch_shows_the_patients_page_with_no_patient_id_in_any_app_url(name, client, smart, caplog):
    caplog.set_level(logging.DEBUG)
    patient = patient_of(name)
    done = authorize(client, smart, patient)
    assert done.status_code == 302 and done.headers["Location"] == "/app/"
    page = client.get("/app/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200, html
    assert (
        page.headers["Cache-Control"] == "no-store"
        and "script-src" not in page.headers["Content-Security-Policy"]
    )
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]
    assert 'id="timeline-svg"' in html and 'id="weight-svg"' in html and 'id="fvc-percent-svg"' in html
    # the app read the FHIR server with the token, only inside the patient's compartment
    assert smart.fhir_requests and all(token for _, token in smart.fhir_requests)
    assert all(path.split("?")[0].split("/")[-1] != "" for path, _ in smart.fhir_requests)
    service_logs = [r for r in caplog.records if r.name.startswith("nmd_cds")]  # not the test EHR's
    assert any(getattr(r, "event", "") == "app_page" for r in service_logs)
    for record in service_logs:
        assert patient not in record.getMessage() and patient not in str(record.__dict__)
    for url in (done.headers["Location"], "/app/"):
        assert patient not in url


def test_als_page_draws_weight_loss_against_usual_weight_and_falling_fvc(client, smart):
    authorize(client, smart, patient_of(ALS))
    html = client.get("/app/").get_data(as_text=True)
    assert "usual 80.0 kg" in html and "5–10 % below usual" in html and "≥ 10 % below usual" in html
    assert "2026-11-18: Weight 71.0 kg" in html  # the latest weight, as a point with its tooltip
    assert "−11.2 %" in html  # the table: % from usual weight
    assert "68 %" in html and "57 %" in html and "50 %: NIV criterion" in html
    assert "1.1 L: review (ALS)" in html and "2.55 L" in html
    assert "Body mass index (adult)" in html and "22.4 kg/m²" in html
    assert html.count('class="critical"') == 1 and html.count('class="warning"') == 1
    assert "/knowledge/rules/NUT-02" in html and "/knowledge/rules/NUT-09" in html


def test_dmd_page_draws_scores_bmd_with_lsc_fracture_and_therapy_episodes(client, smart):
    authorize(client, smart, patient_of(DMD))
    html = client.get("/app/").get_data(as_text=True)
    assert "Bone density score – lumbar spine" in html and "Bone density score – total hip" in html
    assert "Z −2.0: low for age" in html and "T −2.5" not in html  # a child: Z-scores only
    assert "2025-06-21: Z-score −2.6" in html
    assert "baseline 0.521 ± 5 % (LSC)" in html and "BMD – total hip" in html
    assert "event-imaging-vf" in html and "vertebral fracture T10, Genant grade 2" in html
    assert html.count("event-imaging-normal") == 2
    assert "event-fracture-unconfirmed" in html and "event-fracture-low" in html
    assert "episode-glucocorticoid" in html and "deflazacort" in html
    assert "episode-bone-therapy" in html and "zoledronic acid" in html
    assert "BMI-for-age percentile" in html and "85th: over-nutrition (GC)" in html
    assert "Jonah Trajectory-Fixture" in html  # the banner: the clinician checks it is the right patient


def test_a_patient_with_no_data_gets_a_clear_page(client, smart):
    authorize(client, smart, EMPTY_PATIENT)
    page = client.get("/app/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "No data to draw" in html and "No card" in html
    assert "no weight recorded" in html and "no spirometry recorded" in html


def test_refused_authorization_gives_a_clear_page_and_no_data_is_read(client, smart):
    resp = authorize(client, smart, patient_of(ALS), allow=False)
    html = resp.get_data(as_text=True)
    assert (
        resp.status_code == 403
        and "Authorization refused" in html
        and "the authorization was refused" in html
    )
    assert smart.fhir_requests == []
    assert client.get("/app/").status_code == 401  # the launch session is gone


def test_an_expired_token_gives_a_clear_page(client, smart):
    authorize(client, smart, patient_of(ALS))
    assert client.get("/app/").status_code == 200
    smart.expire_tokens()
    page = client.get("/app/")
    assert page.status_code == 401 and "Your authorization has expired" in page.get_data(as_text=True)


def test_an_expired_session_gives_a_clear_page(app, client, smart):
    authorize(client, smart, patient_of(ALS))
    sessions = app.extensions[SESSIONS]
    ttl = app.extensions["nmd_cds_settings"].app_session_ttl_s
    real = sessions.now
    sessions.now = lambda: real() + ttl + 1
    page = client.get("/app/")
    assert page.status_code == 401 and "Your session has expired" in page.get_data(as_text=True)


@pytest.mark.parametrize("status", [500, 503, 404])
def test_a_failing_fhir_server_gives_a_clear_page(status, client, smart):
    authorize(client, smart, patient_of(DMD))
    smart.fhir_failure = status
    page = client.get("/app/")
    html = page.get_data(as_text=True)
    assert page.status_code == 502 and "The EHR&#39;s FHIR server failed" in html
    assert f"HTTP {status}" in html


def test_an_unreachable_fhir_server_gives_a_clear_page(client, smart, app):
    authorize(client, smart, patient_of(DMD))
    smart.stop()
    try:
        page = client.get("/app/")
    finally:
        smart.start(int(urlsplit(smart.base_url).port or 0))
    assert page.status_code == 502 and "unreachable" in page.get_data(as_text=True)


def test_the_session_id_changes_at_authorization(client, smart):
    launch(client, smart, patient_of(ALS))
    before = client.get_cookie(COOKIE, path="/app/").value
    authorize(client, smart, patient_of(ALS))
    after = client.get_cookie(COOKIE, path="/app/").value
    assert before != after


LAUNCH_PROBLEMS = [
    # (query, status, words on the page)
    ("launch=x", 400, "no &#39;iss&#39;"),
    ("iss={fhir}", 400, "no &#39;launch&#39; parameter"),
    ("launch=x&iss=http://169.254.169.254/fhir", 403, "link-local"),
    ("launch=x&iss=ftp://example.org/fhir", 403, "http(s) URL"),
    ("launch=x&iss={plain}", 502, "Discovery failed"),  # a FHIR server without SMART
    ("iss={fhir}&patient=p1", 403, "only accepted in dev mode"),  # open mode for a server not listed
]


@pytest.mark.parametrize("query,status,words", LAUNCH_PROBLEMS)
def test_launch_problems_give_clear_pages(query, status, words, client, smart, fhir_server):
    url = "/app/launch?" + query.format(fhir=smart.fhir_base, plain=fhir_server.base_url)
    page = client.get(url)
    assert page.status_code == status
    html = page.get_data(as_text=True)
    assert words in html and "What to do" in html and "<html" in html


CALLBACK_PROBLEMS = [
    # (what the callback carries, status, words)
    ("no-session", 400, "This sign-in has expired"),
    ("bad-state", 400, "does not match"),
    ("no-code", 400, "No authorization code"),
    ("bad-code", 502, "invalid_grant"),
    ("error=invalid_scope", 403, "does not grant the read scopes"),
    ("error=weird_error", 403, "an authorization error"),
]


@pytest.mark.parametrize("case,status,words", CALLBACK_PROBLEMS)
def test_callback_problems_give_clear_pages(case, status, words, app, smart):
    client = app.test_client()
    if case != "no-session":
        location = launch(client, smart, patient_of(ALS))
        state = query_of(location)["state"]
    else:
        state = "s"
    query = {
        "no-session": f"code=c&state={state}",
        "bad-state": "code=c&state=other",
        "no-code": f"state={state}",
        "bad-code": f"code=forged&state={state}",
    }.get(case, f"{case}&state={state}")
    page = client.get(f"/app/callback?{query}")
    assert page.status_code == status
    assert words in page.get_data(as_text=True)


def test_no_session_page_without_a_launch(client):
    page = client.get("/app/")
    assert page.status_code == 401 and "Your session has expired" in page.get_data(as_text=True)


def test_app_pages_need_no_cds_client_jwt(settings, smart):
    """The CDS endpoints ask for a JWT; the app's users sign in through the EHR instead."""
    client = create_app(settings.with_(auth=True, trusted_issuers_file="")).test_client()
    assert client.get("/cds-services").status_code == 401
    assert client.get("/app/").status_code == 401  # the app's own 'no session' page, HTML
    assert "<html" in client.get("/app/").get_data(as_text=True)


def test_open_server_mode_reads_without_authorization_in_dev_mode(settings, open_smart):
    client = create_app(settings.with_(app_open_servers=(open_smart.fhir_base,))).test_client()
    resp = client.get(f"/app/launch?iss={open_smart.fhir_base}&patient={patient_of(DMD)}")
    assert resp.status_code == 302 and resp.headers["Location"] == "/app/"
    page = client.get("/app/")
    assert page.status_code == 200 and "Bone density score – lumbar spine" in page.get_data(as_text=True)
    assert open_smart.fhir_requests and all(token is None for _, token in open_smart.fhir_requests)


def test_open_server_mode_is_refused_outside_dev_mode(settings, open_smart):
    strict = settings.with_(dev_mode=False, app_open_servers=(open_smart.fhir_base,))
    client = create_app(strict).test_client()
    resp = client.get(f"/app/launch?iss={open_smart.fhir_base}&patient={patient_of(DMD)}")
    assert resp.status_code == 403  # http is refused outside dev mode, and open mode needs dev mode
    assert open_smart.fhir_requests == []


def test_a_bug_while_drawing_is_an_html_page_and_a_log_line_without_patient_data(
    client, smart, caplog, monkeypatch
):
    authorize(client, smart, patient_of(DMD))

    def broken(*args, **kwargs):
        raise ValueError(f"boom for {patient_of(DMD)}")

    monkeypatch.setattr("service.trajectory.charts.trajectory", broken)
    page = client.get("/app/")
    assert page.status_code == 500 and "The app failed" in page.get_data(as_text=True)
    failed = [r for r in caplog.records if getattr(r, "event", "") == "app_failed"]
    assert failed and failed[0].error_type == "ValueError"
    from service.logs import JsonFormatter

    assert patient_of(DMD) not in JsonFormatter().format(failed[0])
    assert client.get("/app/nothing-here").status_code == 404  # not a bug: the service's JSON 404
