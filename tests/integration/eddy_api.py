"""Helpers for tests that drive `eddy run` through its HTTP API.

`EddyServer` writes a pipeline file into a directory, starts `eddy run` on
it (port 0, the bound port read from `serving.port_file`), waits until
/readyz answers, and stops it with a signal, returning the exit status. Its
stderr goes to a file (progress lines would fill a pipe), readable as
`server.stderr`.
"""
import json
import os
import pathlib
import signal
import subprocess
import time

import requests


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def assert_error(resp, status, code):
    """The response is the API's JSON error with this status and code."""
    assert resp.status_code == status, resp.text
    assert resp.headers["Content-Type"] == "application/json"
    body = resp.json()
    assert set(body) == {"error"}, body
    assert body["error"]["code"] == code, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return body["error"]["message"]


def metric_samples(text, name):
    """{labels-text: value} for every sample of `name` in a Prometheus text page
    (labels-text is e.g. 'source="tx",outcome="accepted"', '' without labels)."""
    out = {}
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        series, _, value = line.rpartition(" ")
        if series == name:
            out[""] = float(value)
        elif series.startswith(name + "{"):
            out[series[len(name) + 1:-1]] = float(value)
    return out


def metric(text, series):
    """The value of one exact series (name{labels}), or None."""
    for line in text.splitlines():
        if line.startswith(series + " "):
            return float(line.split()[-1])
    return None


def read_jsonl(path):
    p = pathlib.Path(path)
    if not p.exists():
        return []
    return [json.loads(line) for line in p.read_text().splitlines() if line.strip()]


def wait_for(predicate, timeout=10.0, interval=0.05, what="condition"):
    """Polls `predicate` until it returns a truthy value, which is returned."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


class EddyServer:
    """One `eddy run` process serving a pipeline written to `workdir`."""

    def __init__(self, eddy, workdir, pipeline, env=None, tls_cert=None, token=None):
        self.eddy = eddy
        self.dir = pathlib.Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.pipeline = self.dir / "pipeline.yaml"
        self.pipeline.write_text(pipeline)
        self.env = dict(os.environ)
        self.env.pop("EDDY_API_TOKENS", None)
        self.env.update(env or {})
        self.tls_cert = tls_cert
        self.token = token  # used for the readiness probe when auth is on
        self.proc = None
        self.port = None
        self.runs = 0

    # -- lifecycle --

    def start(self, timeout=30.0, extra_args=()):
        port_file = self.dir / "state" / "port"
        if port_file.exists():
            port_file.unlink()
        self.runs += 1
        self.stderr_path = self.dir / f"eddy.{self.runs}.stderr"
        self._stderr = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(
            [self.eddy, "run", str(self.pipeline), "--progress-interval", "1s", *extra_args],
            cwd=self.dir, env=self.env, stdout=subprocess.DEVNULL, stderr=self._stderr)

        def bound():
            if self.proc.poll() is not None:
                raise AssertionError(f"eddy run exited with {self.proc.returncode}:\n{self.stderr}")
            text = port_file.read_text() if port_file.exists() else ""
            return int(text) if text.endswith("\n") else None

        self.port = wait_for(bound, timeout, what="the port file")
        headers = bearer(self.token) if self.token else {}
        wait_for(lambda: self.get("/readyz", headers=headers).status_code == 200, timeout,
                 what="/readyz")
        return self

    def stop(self, sig=signal.SIGTERM, timeout=60.0):
        """Sends `sig` and returns the exit status."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"eddy run did not exit within {timeout}s of {sig!r}")
        finally:
            self._stderr.close()
        self.proc = None
        return code

    def wait(self, timeout=60.0):
        """Waits for the process to exit on its own; returns the exit status."""
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"eddy run did not exit within {timeout}s")
        self._stderr.close()
        self.proc = None
        return code

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self.proc is not None:
            self._stderr.close()
        self.proc = None

    @property
    def stderr(self):
        return self.stderr_path.read_text(errors="replace")

    # -- requests --

    @property
    def scheme(self):
        return "https" if self.tls_cert else "http"

    def url(self, path):
        return f"{self.scheme}://127.0.0.1:{self.port}{path}"

    def request(self, method, path, **kw):
        kw.setdefault("timeout", 10)
        if self.tls_cert:
            kw.setdefault("verify", self.tls_cert)
        return requests.request(method, self.url(path), **kw)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, **kw):
        return self.request("POST", path, **kw)

    def metrics(self, token=None):
        r = self.get("/metrics", headers=bearer(token or self.token) if (token or self.token) else {})
        assert r.status_code == 200, r.text
        return r.text

    def path(self, relative):
        return self.dir / relative


def raw_request(port, data, timeout=10.0):
    """Sends `data` (a whole HTTP/1.1 request, bytes) on a new connection and
    returns (status, {lower-case header: value}, body) of the response."""
    import socket
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = s.recv(65536)
            if not chunk:
                raise AssertionError(f"connection closed before a response: {buf!r}")
            buf += chunk
        head, _, rest = buf.partition(b"\r\n\r\n")
        lines = head.decode().split("\r\n")
        headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        n = int(headers.get("content-length", "0"))
        while len(rest) < n:
            chunk = s.recv(65536)
            if not chunk:
                break
            rest += chunk
        return int(lines[0].split()[1]), headers, rest[:n]
