"""The HTTP layer through real clients: requests (urllib3) and raw sockets
against serve_test_server. Covers keep-alive, pipelining, JSON errors, size
and time limits, slow clients, auth, TLS, /metrics and graceful shutdown."""
import json
import re
import signal
import socket
import subprocess
import threading
import time

import pytest
import requests

ADMIN = "admin-token-0123456789abcdef"
SCORER = "scorer-token-0123456789abcdef"
READER = "reader-token-0123456789abcdef"
LOADER = "loader-token-0123456789abcdef"


def tokens_file(tmp_path):
    p = tmp_path / "tokens.txt"
    p.write_text(
        "# test tokens\n"
        f"{ADMIN} all ops\n"
        f"{SCORER} predict,read fraud-svc\n"
        f"{READER} read dashboard\n"
        f"{LOADER} ingest loader\n"
    )
    p.chmod(0o600)
    return str(p)


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def raw_connect(port, timeout=5.0):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


class RawReader:
    """Reads Content-Length framed responses from a socket."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def response(self):
        while b"\r\n\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                return None
            self.buf += chunk
        head, _, rest = self.buf.partition(b"\r\n\r\n")
        lines = head.decode().split("\r\n")
        status = int(lines[0].split()[1])
        headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        n = int(headers.get("content-length", "0"))
        while len(rest) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                return None
            rest += chunk
        self.buf = rest[n:]
        return status, headers, rest[:n]

    def closed(self, timeout):
        """True if the peer closes within `timeout` seconds."""
        self.sock.settimeout(timeout)
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return True
        except (socket.timeout, TimeoutError):
            return False
        except ConnectionResetError:
            return True


def assert_error(resp, status, code):
    assert resp.status_code == status, resp.text
    assert resp.headers["Content-Type"] == "application/json"
    body = resp.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]


def metric_value(text, series):
    for line in text.splitlines():
        if line.startswith(series + " "):
            return float(line.split()[-1])
    return None


# ---------------------------------------------------------------------------


def test_routes_and_json_errors(start_server):
    srv = start_server()
    r = requests.get(srv.url("/healthz"))
    assert r.status_code == 200 and r.json() == {"status": "ok"}
    r = requests.post(srv.url("/v1/predict"), json={"key": "u1", "amount": 12.5})
    assert r.status_code == 200
    assert r.json() == {"key": "u1", "score": 0.25, "model": "demo", "version": "1"}
    assert_error(requests.get(srv.url("/v1/nope")), 404, "not_found")
    r = requests.post(srv.url("/v1/noop"))
    assert_error(r, 405, "method_not_allowed")
    assert r.headers["Allow"] == "GET, HEAD"
    assert_error(requests.post(srv.url("/v1/echo"), data=b'{"a": [1, 2'), 400, "bad_json")
    assert_error(requests.post(srv.url("/v1/echo"), data=b"\xff\xfe"), 400, "bad_json")
    assert_error(requests.post(srv.url("/v1/predict"), json={"key": 7}), 400, "invalid_argument")
    assert_error(requests.get(srv.url("/v1/throw")), 500, "internal")
    r = requests.post(srv.url("/v2/models/fraud%20gbdt/versions/3/infer"), json={})
    assert r.json() == {"model_name": "fraud gbdt", "model_version": "3"}
    r = requests.post(srv.url("/v2/models/fraud/infer"), json={})
    assert r.json() == {"model_name": "fraud", "model_version": ""}
    assert srv.stop() == 0
    assert "demo handler failure" in srv.stderr


def test_keep_alive_reuses_one_connection(start_server):
    srv = start_server()
    with requests.Session() as s:
        for i in range(100):
            r = s.get(srv.url(f"/v1/seq/{i}"))
            assert r.status_code == 200 and r.json() == {"n": str(i)}
        text = s.get(srv.url("/metrics")).text
    assert metric_value(text, "eddy_http_connections_accepted_total") == 1
    assert (
        metric_value(text, 'eddy_http_requests_total{method="GET",route="/v1/seq/{n}",code="200"}')
        == 100
    )


def test_pipelined_requests_come_back_in_order(start_server):
    srv = start_server()
    sock = raw_connect(srv.port)
    reqs = []
    for i in range(30):
        if i % 4 == 0:
            body = json.dumps({"i": i}).encode()
            reqs.append(
                b"POST /v1/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                + f"Content-Length: {len(body)}\r\n\r\n".encode()
                + body
            )
        elif i % 4 == 1:
            reqs.append(b"GET /v1/slow?ms=20 HTTP/1.1\r\nHost: x\r\n\r\n")
        else:
            reqs.append(f"GET /v1/seq/{i} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    sock.sendall(b"".join(reqs))
    reader = RawReader(sock)
    for i in range(30):
        status, _, body = reader.response()
        assert status == 200
        doc = json.loads(body)
        if i % 4 == 0:
            assert doc == {"type": "object", "bytes": len(json.dumps({"i": i}))}
        elif i % 4 == 1:
            assert doc == {"slept_ms": 20}
        else:
            assert doc == {"n": str(i)}
    sock.close()


def test_malformed_http_is_400_and_closes(start_server):
    srv = start_server()
    sock = raw_connect(srv.port)
    sock.sendall(b"THIS IS NOT HTTP\r\n\r\n")
    reader = RawReader(sock)
    status, headers, body = reader.response()
    assert status == 400
    assert json.loads(body)["error"]["code"] == "bad_request"
    assert reader.closed(3)


def test_oversize_body_is_413(start_server):
    srv = start_server("--max-body-bytes", "1000000")
    big = b'{"x":"' + b"a" * 2_000_000 + b'"}'
    r = requests.post(srv.url("/v1/echo"), data=big, headers={"Content-Type": "application/json"})
    assert_error(r, 413, "payload_too_large")
    assert r.headers["Connection"] == "close"
    # A route with its own larger limit (8 MiB) takes it.
    r = requests.post(srv.url("/v1/bulk"), data=big)
    assert r.status_code == 200 and r.json() == {"bytes": len(big)}
    # Chunked uploads are cut at the limit too.
    def chunks():
        for _ in range(40):
            yield b"b" * 50_000
    r = requests.post(srv.url("/v1/echo"), data=chunks())
    assert_error(r, 413, "payload_too_large")
    # The server is fine afterwards.
    assert requests.get(srv.url("/healthz")).status_code == 200


def test_oversize_header_is_431(start_server):
    srv = start_server("--max-header-bytes", "4096")
    r = requests.get(srv.url("/v1/noop"), headers={"X-Big": "h" * 8000})
    assert_error(r, 431, "headers_too_large")


def test_slow_client_is_dropped_while_others_are_served(start_server):
    srv = start_server("--read-timeout", "1s")
    request = b"GET /v1/seq/1 HTTP/1.1\r\nHost: slowloris\r\nX-Padding: " + b"p" * 40 + b"\r\n\r\n"
    slow = raw_connect(srv.port)
    dropped_at = []
    started = time.monotonic()

    def trickle():
        try:
            for b in request:
                slow.sendall(bytes([b]))
                time.sleep(0.05)
        except OSError:
            pass
        reader = RawReader(slow)
        if reader.closed(5):
            dropped_at.append(time.monotonic() - started)

    t = threading.Thread(target=trickle)
    t.start()
    worst = 0.0
    with requests.Session() as s:
        while t.is_alive() and time.monotonic() - started < 2.0:
            t0 = time.monotonic()
            r = s.get(srv.url("/v1/noop"))
            worst = max(worst, time.monotonic() - t0)
            assert r.status_code == 200
    t.join()
    assert worst < 0.5, f"a fast client waited {worst:.3f}s behind a slow one"
    assert dropped_at and 0.9 <= dropped_at[0] <= 3.0, dropped_at
    text = requests.get(srv.url("/metrics")).text
    assert metric_value(text, 'eddy_http_connection_closes_total{reason="read_timeout"}') == 1


def test_many_slow_clients_do_not_stall_the_server(start_server):
    srv = start_server("--read-timeout", "2s")
    socks = [raw_connect(srv.port) for _ in range(200)]
    for s in socks:
        s.sendall(b"GET /v1/seq/1 HTTP/1.1\r\n")  # and nothing more
    t0 = time.monotonic()
    for i in range(50):
        assert requests.get(srv.url(f"/v1/seq/{i}")).status_code == 200
    assert time.monotonic() - t0 < 2.0
    for s in socks:
        s.close()


def test_idle_keep_alive_connections_are_closed(start_server):
    srv = start_server("--idle-timeout", "300ms")
    sock = raw_connect(srv.port)
    sock.sendall(b"GET /v1/noop HTTP/1.1\r\nHost: x\r\n\r\n")
    reader = RawReader(sock)
    assert reader.response()[0] == 200
    t0 = time.monotonic()
    assert reader.closed(5)
    assert 0.2 <= time.monotonic() - t0 <= 3


def test_auth_401_403(start_server, tmp_path):
    srv = start_server("--tokens", tokens_file(tmp_path))
    # Liveness needs nothing.
    assert requests.get(srv.url("/healthz")).status_code == 200
    r = requests.post(srv.url("/v1/predict"), json={"key": "u"})
    assert_error(r, 401, "unauthenticated")
    assert r.headers["WWW-Authenticate"] == "Bearer"
    assert_error(requests.post(srv.url("/v1/predict"), json={"key": "u"}, headers=bearer("nope-nope-nope-nope")), 401, "unauthenticated")
    assert_error(
        requests.post(srv.url("/v1/predict"), json={"key": "u"}, headers={"Authorization": f"Basic {SCORER}"}),
        401,
        "unauthenticated",
    )
    r = requests.post(srv.url("/v1/predict"), json={"key": "u"}, headers=bearer(READER))
    assert_error(r, 403, "forbidden")
    assert "dashboard" in r.json()["error"]["message"] and "predict" in r.json()["error"]["message"]
    assert READER not in r.text
    r = requests.post(srv.url("/v1/predict"), json={"key": "u"}, headers=bearer(SCORER))
    assert r.status_code == 200
    assert_error(requests.post(srv.url("/v1/admin/promote"), headers=bearer(SCORER)), 403, "forbidden")
    r = requests.post(srv.url("/v1/admin/promote"), headers=bearer(ADMIN))
    assert r.json() == {"action": "promote", "caller": "ops"}
    assert requests.get(srv.url("/v1/whoami"), headers=bearer(SCORER)).json() == {
        "name": "fraud-svc",
        "roles": "read,predict",
    }
    # Readiness and metrics need the read role; ingest is separate.
    assert_error(requests.get(srv.url("/readyz")), 401, "unauthenticated")
    assert_error(requests.get(srv.url("/metrics"), headers=bearer(LOADER)), 403, "forbidden")
    assert requests.get(srv.url("/metrics"), headers=bearer(READER)).status_code == 200
    assert requests.post(srv.url("/v1/bulk"), data=b"x", headers=bearer(LOADER)).status_code == 200
    assert srv.stop() == 0
    for t in (ADMIN, SCORER, READER, LOADER):
        assert t not in srv.stderr and t not in srv.stdout_rest


def test_tokens_from_environment(start_server):
    srv = start_server(env={"EDDY_API_TOKENS": f"{SCORER} predict env-svc; {READER} read env-reader"})
    assert requests.get(srv.url("/v1/whoami"), headers=bearer(READER)).json()["name"] == "env-reader"
    assert requests.get(srv.url("/v1/whoami")).status_code == 401


def test_bad_token_file_fails_with_a_line_number(serve_bin, tmp_path):
    p = tmp_path / "tokens.txt"
    p.write_text(f"{ADMIN} all ops\n{SCORER} wizard svc\n")
    r = subprocess.run([serve_bin, "--tokens", str(p)], capture_output=True, text=True, timeout=10)
    assert r.returncode == 2
    assert "tokens.txt:2: unknown role 'wizard'" in r.stderr
    assert SCORER not in r.stderr


@pytest.fixture(scope="module")
def self_signed(tmp_path_factory):
    d = tmp_path_factory.mktemp("tls")
    cert, key = d / "cert.pem", d / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
        check=True, capture_output=True,
    )
    return str(cert), str(key)


def test_tls_with_a_self_signed_pair(start_server, self_signed, tmp_path):
    cert, key = self_signed
    srv = start_server("--tls-cert", cert, "--tls-key", key, "--tokens", tokens_file(tmp_path), tls=True)
    # verify= on each call: a session's own `verify` loses to $REQUESTS_CA_BUNDLE.
    with requests.Session() as s:
        for i in range(20):
            r = s.get(srv.url(f"/v1/seq/{i}"), headers=bearer(READER), verify=cert)
            assert r.status_code == 200 and r.json() == {"n": str(i)}
        assert_error(s.get(srv.url("/v1/seq/1"), verify=cert), 401, "unauthenticated")
        r = s.post(srv.url("/v1/echo"), data=b"{bad", headers=bearer(SCORER), verify=cert)
        assert_error(r, 400, "bad_json")
        text = s.get(srv.url("/metrics"), headers=bearer(READER), verify=cert).text
    assert metric_value(text, "eddy_http_connections_accepted_total") == 1
    # The certificate is checked by the client...
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(srv.url("/healthz"), verify=True)
    # ... and plain HTTP on the TLS port gets nowhere.
    sock = raw_connect(srv.port)
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    reader = RawReader(sock)
    assert reader.closed(5)
    assert requests.get(srv.url("/healthz"), verify=cert).status_code == 200
    assert srv.stop() == 0


def test_tls_with_a_mismatched_key_fails_to_start(serve_bin, self_signed, tmp_path):
    cert, _ = self_signed
    other_key = tmp_path / "other.pem"
    subprocess.run(["openssl", "genrsa", "-out", str(other_key), "2048"], check=True, capture_output=True)
    r = subprocess.run([serve_bin, "--port", "0", "--tls-cert", cert, "--tls-key", str(other_key)],
                       capture_output=True, text=True, timeout=10)
    assert r.returncode == 1
    assert "cannot load TLS private key" in r.stderr and "mismatch" in r.stderr


SAMPLE = re.compile(
    r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\["\\n])*"'
    r'(,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\["\\n])*")*)?\})? '
    r"(-?[0-9.eE+-]+|\+Inf|-Inf|NaN)$"
)


def parse_exposition(text):
    """A strict reader of the text format 0.0.4: returns {family: (type, [(name, labels, value)])}."""
    assert text.endswith("\n")
    families = {}
    current = None
    for line in text.splitlines():
        if line.startswith("# HELP "):
            name = line.split()[2]
            assert name not in families, f"family {name} twice"
            families[name] = [None, []]
            current = name
        elif line.startswith("# TYPE "):
            _, _, name, typ = line.split()
            assert name == current, line
            assert typ in ("counter", "gauge", "histogram")
            families[name][0] = typ
        else:
            m = SAMPLE.match(line)
            assert m, f"bad sample line: {line!r}"
            name = m.group(1)
            base = re.sub(r"_(bucket|sum|count)$", "", name) if families[current][0] == "histogram" else name
            assert base == current, f"{name} outside its family {current}"
            labels = dict(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', m.group(3) or ""))
            families[current][1].append((name, labels, float(m.group(5))))
    return families


def test_metrics_exposition_format(start_server):
    srv = start_server()
    with requests.Session() as s:
        for i in range(10):
            s.get(srv.url(f"/v1/seq/{i}"))
        s.get(srv.url("/nope"))
        s.post(srv.url("/v1/echo"), data=b"{")
        r = s.get(srv.url("/metrics"))
    assert r.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    fams = parse_exposition(r.text)
    for name in ("eddy_http_requests_total", "eddy_http_request_duration_seconds",
                 "eddy_http_connections_active", "eddy_http_connection_closes_total",
                 "process_resident_memory_bytes", "process_cpu_seconds_total"):
        assert name in fams, name
    typ, samples = fams["eddy_http_request_duration_seconds"]
    assert typ == "histogram"
    series = {}
    for name, labels, value in samples:
        key = (labels.get("method"), labels.get("route"))
        series.setdefault(key, {"buckets": [], "count": None})
        if name.endswith("_bucket"):
            series[key]["buckets"].append((float(labels["le"].replace("+Inf", "inf")), value))
        elif name.endswith("_count"):
            series[key]["count"] = value
    seq = series[("GET", "/v1/seq/{n}")]
    bounds = [b for b, _ in seq["buckets"]]
    counts = [c for _, c in seq["buckets"]]
    assert bounds == sorted(bounds) and bounds[-1] == float("inf")
    assert counts == sorted(counts), "buckets are cumulative"
    assert counts[-1] == seq["count"] == 10
    codes = {(l["route"], l["code"]): v for _, l, v in fams["eddy_http_requests_total"][1]}
    assert codes[("/v1/seq/{n}", "200")] == 10
    assert codes[("unmatched", "404")] == 1
    assert codes[("/v1/echo", "400")] == 1


def test_readiness(start_server):
    srv = start_server("--not-ready")
    assert requests.get(srv.url("/healthz")).status_code == 200
    r = requests.get(srv.url("/readyz"))
    assert_error(r, 503, "unavailable")
    assert r.json()["error"]["message"] == "models are not loaded yet"
    srv2 = start_server()
    assert requests.get(srv2.url("/readyz")).json() == {"status": "ready"}


def test_graceful_shutdown_on_sigterm_finishes_in_flight_requests(start_server):
    srv = start_server()
    idle = raw_connect(srv.port)
    idle.sendall(b"GET /v1/noop HTTP/1.1\r\nHost: x\r\n\r\n")
    idle_reader = RawReader(idle)
    assert idle_reader.response()[0] == 200
    result = {}

    def slow_request():
        t0 = time.monotonic()
        r = requests.get(srv.url("/v1/slow?ms=1500"))
        result["status"] = r.status_code
        result["body"] = r.json()
        result["connection"] = r.headers.get("Connection")
        result["elapsed"] = time.monotonic() - t0

    t = threading.Thread(target=slow_request)
    t.start()
    time.sleep(0.3)
    t_sig = time.monotonic()
    srv.proc.send_signal(signal.SIGTERM)
    time.sleep(0.2)
    # No new connections once stopping...
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(srv.url("/healthz"), timeout=2)
    # ... idle keep-alive connections are closed ...
    assert idle_reader.closed(3)
    t.join()
    # ... and the request in flight was answered in full.
    assert result["status"] == 200 and result["body"] == {"slept_ms": 1500}
    assert result["connection"] == "close"
    rc = srv.stop(timeout=10)
    assert rc == 0
    assert "stopped" in srv.stdout_rest
    assert time.monotonic() - t_sig < 5


def test_audit_log_has_every_prediction_and_admin_action(start_server, tmp_path):
    audit = tmp_path / "audit.jsonl"
    srv = start_server("--tokens", tokens_file(tmp_path), "--audit", str(audit))
    errors = []

    def client(n):
        with requests.Session() as s:
            for i in range(50):
                r = s.post(srv.url("/v1/predict"), json={"key": f"c{n}-{i}", "amount": i},
                           headers=bearer(SCORER))
                if r.status_code != 200:
                    errors.append(r.text)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert requests.post(srv.url("/v1/admin/rollback"), headers=bearer(ADMIN)).status_code == 200
    assert srv.stop() == 0
    lines = audit.read_text().splitlines()
    assert len(lines) == 201
    records = [json.loads(l) for l in lines]
    assert [r["seq"] for r in records] == list(range(201))
    predictions = [r for r in records if r["kind"] == "prediction"]
    assert len(predictions) == 200
    assert {r["input"]["key"] for r in predictions} == {f"c{n}-{i}" for n in range(4) for i in range(50)}
    assert all(r["caller"] == "fraud-svc" and r["v"] == 1 and r["score"] == 0.25 for r in predictions)
    admin = [r for r in records if r["kind"] == "admin"]
    assert admin == [dict(admin[0], caller="ops", action="rollback")]
    text = audit.read_text()
    for t in (ADMIN, SCORER):
        assert t not in text
    assert (audit.stat().st_mode & 0o777) == 0o600
