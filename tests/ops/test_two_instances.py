"""Two real instances of the service (gunicorn, authentication on) behind a real nginx (round-robin, on
loopback), sharing a throw-away PostgreSQL: state that must be shared is shared, and killing one
instance mid-load loses no acknowledged feedback. nginx comes from Debian's package (scripts/test.sh
installs it when missing)."""

from __future__ import annotations

import http.client
import os
import shutil
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.ops.harness import (
    Client,
    Instance,
    base_env,
    free_port,
    gunicorn,
    override,
    request,
    token_for,
)
from tests.pg_cluster import PgCluster, start_cluster
from tests.security import tokens as t

NGINX_HINT = "apt-get install -y nginx"


@dataclass
class Deployment:
    a: Instance
    b: Instance
    lb_port: int
    lb_url: str
    cluster: PgCluster

    def client(self, port: int | None = None) -> Client:
        return Client(port or self.lb_port, self.lb_url)


def nginx_binary() -> str:
    found = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if os.path.exists(p)), None)
    if not found:
        pytest.fail(f"nginx is not installed; install it with: {NGINX_HINT}", pytrace=False)
    return found


NGINX_CONF = """
worker_processes 1;
daemon off;
{user}
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {dir}/tmp-body;
    proxy_temp_path {dir}/tmp-proxy;
    fastcgi_temp_path {dir}/tmp-fastcgi;
    uwsgi_temp_path {dir}/tmp-uwsgi;
    scgi_temp_path {dir}/tmp-scgi;
    client_body_buffer_size 1m;
    upstream cds {{
        server 127.0.0.1:{a};
        server 127.0.0.1:{b};
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://cds;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host:$server_port;
            proxy_buffering off;
            proxy_connect_timeout 2s;
        }}
    }}
}}
"""


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    nginx = nginx_binary()
    folder = tmp_path_factory.mktemp("two-instances")
    cluster = start_cluster()
    lb_port, port_a, port_b = free_port(), free_port(), free_port()
    lb_url = f"http://127.0.0.1:{lb_port}"
    shared = {
        "NMD_CDS_DATABASE_URL": cluster.url,
        "NMD_CDS_INSTANCES": "2",
        "NMD_CDS_BASE_URL": lb_url,  # the public URL: the audience of every token
    }
    conf = folder / "nginx.conf"
    conf.write_text(
        NGINX_CONF.format(
            dir=folder, a=port_a, b=port_b, port=lb_port, user="user root;" if os.geteuid() == 0 else ""
        )
    )
    try:
        with (
            gunicorn(base_env(folder, port_a, **shared), folder, "a") as a,
            gunicorn(base_env(folder, port_b, **shared), folder, "b") as b,
        ):
            proc = subprocess.Popen(
                [nginx, "-p", str(folder), "-c", str(conf), "-e", str(folder / "error.log")],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.STDOUT,
            )
            try:
                _wait_for(lb_port, proc, folder)
                yield Deployment(a, b, lb_port, lb_url, cluster)
            finally:
                proc.terminate()
                proc.wait(10)
    finally:
        cluster.close()


def _wait_for(port: int, proc: subprocess.Popen[bytes], folder: Path) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        assert proc.poll() is None, (folder / "error.log").read_text()
        try:
            if request("GET", port, "/healthz", timeout=2)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise AssertionError("nginx did not answer")


def test_the_load_balancer_alternates_between_the_instances(deployment: Deployment) -> None:
    rids = [request("GET", deployment.lb_port, "/healthz")[1]["x-request-id"] for _ in range(6)]
    for _ in range(50):  # access lines are written just after the response: wait for all six
        served = {
            name: {line.get("request_id") for line in inst.lines() if line.get("logger") == "gunicorn.access"}
            for name, inst in (("a", deployment.a), ("b", deployment.b))
        }
        where = ["a" if rid in served["a"] else "b" if rid in served["b"] else "?" for rid in rids]
        if "?" not in where:
            break
        time.sleep(0.1)
    assert sorted(where) == ["a", "a", "a", "b", "b", "b"]


def test_a_token_replayed_to_the_other_instance_is_refused(deployment: Deployment) -> None:
    header = {"Authorization": t.bearer(token_for(deployment.lb_url, "/cds-services"))}
    first = request("GET", deployment.a.port, "/cds-services", headers=header)[0]
    replayed = request("GET", deployment.b.port, "/cds-services", headers=header)[0]
    again = request("GET", deployment.a.port, "/cds-services", headers=header)[0]
    through_lb = [
        request("GET", deployment.lb_port, "/cds-services", headers=h)[0]
        for h in [{"Authorization": t.bearer(token_for(deployment.lb_url, "/cds-services"))}] * 4
    ]
    assert (first, replayed, again) == (200, 401, 401)
    assert through_lb == [200, 401, 401, 401]  # the first use, then replays whichever instance gets them


def test_feedback_for_a_card_issued_by_one_instance_is_stored_through_the_other(
    deployment: Deployment,
) -> None:
    status, body = deployment.client(deployment.a.port).cards("pt-cross-a")
    assert status == 200 and body["cards"]
    status, result = deployment.client(deployment.b.port).feedback([override(c) for c in body["cards"]])
    assert (status, result) == (200, {"stored": len(body["cards"]), "duplicates": 0})


def test_an_override_on_one_instance_suppresses_on_the_other(deployment: Deployment) -> None:
    on_a, on_b = deployment.client(deployment.a.port), deployment.client(deployment.b.port)
    status, first = on_a.cards("pt-suppress")
    assert status == 200 and first["cards"]
    target = first["cards"][0]
    assert on_b.feedback([override(target, code="patient-declined")])[0] == 200
    summaries = {
        name: [c["summary"] for c in client.cards("pt-suppress")[1]["cards"]]
        for name, client in (("b", on_b), ("a", on_a))
    }
    assert target["summary"] not in summaries["b"] and target["summary"] not in summaries["a"]
    assert len(summaries["b"]) == len(first["cards"]) - 1  # the other cards are still shown


def test_killing_one_instance_mid_load_loses_no_acknowledged_feedback(deployment: Deployment) -> None:
    cards: list[dict[str, Any]] = []
    issuer = deployment.client()
    for i in range(60):
        status, body = issuer.cards(f"pt-kill-{i}")
        assert status == 200
        cards += body["cards"]
    queue = list(cards)
    lock = threading.Lock()
    acknowledged: list[str] = []
    seen: Counter[str] = Counter()

    def post() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", deployment.lb_port, timeout=30)
        client = Client(deployment.lb_port, deployment.lb_url, conn=conn, timeout=30)
        while True:
            with lock:
                if not queue:
                    break
                card = queue.pop()
            for _ in range(20):  # retried on anything but 200, as a careful EHR retries 5xx
                try:
                    status, _ = client.feedback([override(card)])
                except (OSError, http.client.HTTPException) as exc:
                    status = type(exc).__name__  # type: ignore[assignment]
                with lock:
                    seen[str(status)] += 1
                if status == 200:
                    with lock:
                        acknowledged.append(card["uuid"])
                    break
                time.sleep(0.2)
        conn.close()

    threads = [threading.Thread(target=post) for _ in range(8)]
    for th in threads:
        th.start()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # kill instance A once a third of the feedback is in
        with lock:
            if len(acknowledged) >= len(cards) // 3:
                break
        time.sleep(0.01)
    deployment.a.kill()
    for th in threads:
        th.join(300)
    with psycopg.connect(deployment.cluster.url) as conn:
        rows = {
            r[0]
            for r in conn.execute(
                "SELECT card_uuid FROM feedback WHERE card_uuid = ANY(%s)", ([c["uuid"] for c in cards],)
            )
        }
    lost = set(acknowledged) - rows
    print(
        f"\nfeedback posts while instance A was killed: {dict(seen)}; acknowledged {len(acknowledged)} "
        f"of {len(cards)}; stored {len(rows)}; lost {len(lost)}",
        file=sys.stderr,
    )
    assert deployment.a.proc.poll() is not None  # A is really gone
    assert lost == set()
    assert len(acknowledged) == len(cards)  # and with retries every item got through B
