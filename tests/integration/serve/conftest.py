"""Fixtures for the HTTP layer's integration tests: they start the real
serve_test_server binary (src/serve/serve_test_server.cc) on a free port and
talk to it with requests and raw sockets."""
import os
import pathlib
import select
import signal
import subprocess
import time

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[3]


@pytest.fixture(scope="session")
def serve_bin() -> str:
    d = pathlib.Path(os.environ.get("EDDY_BIN_DIR", ROOT / "build" / "release" / "bin"))
    p = d / "serve_test_server"
    if not p.exists():
        pytest.fail(f"serve_test_server not found in {d}; build it or set EDDY_BIN_DIR")
    return str(p)


class Server:
    """A running serve_test_server. `stop()` sends SIGTERM and waits."""

    def __init__(self, binary, args, env=None, tls=False):
        full_env = dict(os.environ)
        full_env.pop("EDDY_API_TOKENS", None)
        full_env.update(env or {})
        self.proc = subprocess.Popen(
            [binary, "--port", "0", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=full_env,
        )
        self.scheme = "https" if tls else "http"
        line = self._read_line(timeout=10)
        if not line.startswith("listening on "):
            self.proc.kill()
            _, err = self.proc.communicate()
            raise RuntimeError(f"server did not start: {line!r} {err.decode(errors='replace')}")
        self.port = int(line.split()[-1])
        self.stdout_rest = ""
        self.stderr = ""

    def _read_line(self, timeout):
        deadline = time.monotonic() + timeout
        buf = b""
        fd = self.proc.stdout.fileno()
        while not buf.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0:
                break
            r, _, _ = select.select([fd], [], [], left)
            if not r:
                break
            chunk = os.read(fd, 1)
            if not chunk:
                break
            buf += chunk
        return buf.decode().strip()

    def url(self, path):
        host = "localhost" if self.scheme == "https" else "127.0.0.1"
        return f"{self.scheme}://{host}:{self.port}{path}"

    def stop(self, sig=signal.SIGTERM, timeout=15):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            out, err = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, err = self.proc.communicate()
            raise
        self.stdout_rest = out.decode(errors="replace")
        self.stderr = err.decode(errors="replace")
        return self.proc.returncode


@pytest.fixture
def start_server(serve_bin):
    servers = []

    def start(*args, env=None, tls=False):
        s = Server(serve_bin, list(args), env=env, tls=tls)
        servers.append(s)
        return s

    yield start
    for s in servers:
        if s.proc.poll() is None:
            s.proc.kill()
            s.proc.communicate()
