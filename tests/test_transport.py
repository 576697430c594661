"""Tokens go only to the API: redirects are never followed, proxies and CA bundles from the
environment are honoured, and TLS verification cannot be switched off.

Real servers on loopback throughout: the fake Last9 (over TLS with a certificate made here), a
second fake that must never hear from the action, and a tiny CONNECT proxy.
"""

from __future__ import annotations

import select
import socket
import socketserver
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.certs import make_tls_files
from tests.fake_last9 import FakeLast9, Fault, Route
from tests.runner import ROOT, Job


def inputs_for(fake: FakeLast9, **overrides: str) -> dict[str, str]:
    """A start step's inputs for ``fake``."""
    inputs = {"org": "acme", "refresh-token": fake.mint("refresh", ttl=None), "api-url": fake.url}
    inputs.update(overrides)
    return inputs


# -- redirects -------------------------------------------------------------------------------


@pytest.fixture
def elsewhere() -> Iterator[FakeLast9]:
    """A second Last9 lookalike: whatever reaches it went somewhere it should not have."""
    with FakeLast9(org="acme") as server:
        yield server


PATHS: dict[Route, str] = {
    "exchange": "/api/v4/oauth/access_token",
    "event": "/api/v4/organizations/acme/change_events",
}


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
@pytest.mark.parametrize("route", PATHS)
def test_a_redirect_is_never_followed(
    fake: FakeLast9, elsewhere: FakeLast9, job: Job, route: Route, status: int
) -> None:
    """A 3xx from the API fails the step; the token never reaches the `Location`."""
    location = f"{elsewhere.url}{PATHS[route]}"
    fake.script(route, Fault(status, {"error": "moved"}, {"Location": location}))
    result = job.run(inputs_for(fake))
    assert elsewhere.received == []
    assert fake.events() == []
    assert result.returncode == 1
    assert result.outputs["status"] == "failed"
    [(title, message)] = result.annotations("error")
    assert title == "Last9: API redirected"
    assert location in message
    assert "Set `api-url`" in message


# -- TLS ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for localhost and 127.0.0.1, and its key (PEM files)."""
    return make_tls_files(tmp_path_factory.mktemp("tls"), "localhost", "127.0.0.1")


@pytest.fixture
def tls_fake(certificate: tuple[Path, Path]) -> Iterator[FakeLast9]:
    """The fake Last9 over https, with the self-signed certificate."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    with FakeLast9(org="acme", tls=context) as server:
        yield server


@pytest.mark.parametrize(
    "env",
    [
        pytest.param({}, id="default"),
        pytest.param({"CURL_CA_BUNDLE": ""}, id="empty-CURL_CA_BUNDLE"),
        pytest.param({"REQUESTS_CA_BUNDLE": ""}, id="empty-REQUESTS_CA_BUNDLE"),
        pytest.param({"PYTHONHTTPSVERIFY": "0"}, id="PYTHONHTTPSVERIFY-0"),
    ],
)
def test_an_untrusted_certificate_fails_the_step(
    tls_fake: FakeLast9, job: Job, env: dict[str, str]
) -> None:
    """A self-signed certificate fails the step before any request, whatever the environment."""
    result = job.run(inputs_for(tls_fake), env=env, process=True)
    assert tls_fake.received == []
    assert result.returncode == 1
    [(title, message)] = result.annotations("error")
    assert title == "Last9: TLS verification failed"
    assert "`REQUESTS_CA_BUNDLE`" in message


def test_requests_ca_bundle_makes_the_certificate_trusted(
    tls_fake: FakeLast9, job: Job, certificate: tuple[Path, Path]
) -> None:
    """`REQUESTS_CA_BUNDLE` (e.g. a TLS-inspecting proxy's CA) is honoured."""
    result = job.run(
        inputs_for(tls_fake), env={"REQUESTS_CA_BUNDLE": str(certificate[0])}, process=True
    )
    assert result.returncode == 0, result.log
    assert len(tls_fake.events()) == 1


def test_no_input_can_switch_tls_verification_off() -> None:
    """No input of action.yml is about TLS, certificates or verification."""
    spec = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
    for name, body in spec["inputs"].items():
        text = f"{name} {body.get('description', '')}".lower()
        for word in ("verify", "insecure", "tls", "ssl", "certificate", "ca-bundle"):
            assert word not in text, (name, word)


# -- proxies --------------------------------------------------------------------------------


class ConnectProxy(socketserver.ThreadingTCPServer):
    """An HTTP proxy on loopback that only tunnels (``CONNECT``); it records each request line
    and every byte it relays from the client."""

    daemon_threads = True
    block_on_close = False

    def __init__(self) -> None:
        self.requests: list[str] = []
        self.relayed = bytearray()
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Tunnel)

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Tunnel(socketserver.BaseRequestHandler):
    server: ConnectProxy

    def handle(self) -> None:
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.request.recv(4096)
            if not chunk:
                return
            head += chunk
        line = head.split(b"\r\n", 1)[0].decode("latin-1")
        with self.server.lock:
            self.server.requests.append(line)
        method, target, _ = line.split(" ", 2)
        if method != "CONNECT":
            self.request.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
            return
        host, _, port = target.rpartition(":")
        with socket.create_connection((host, int(port)), timeout=5) as upstream:
            self.request.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            ends = {self.request: upstream, upstream: self.request}
            while True:
                readable, _, _ = select.select(list(ends), [], [], 5)
                if not readable:
                    return
                for end in readable:
                    data = end.recv(65536)
                    if not data:
                        return
                    ends[end].sendall(data)
                    if end is self.request:
                        with self.server.lock:
                            self.server.relayed += data


@pytest.fixture
def proxy() -> Iterator[ConnectProxy]:
    """A CONNECT proxy on loopback, serving from a thread."""
    server = ConnectProxy()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(5)


@pytest.mark.parametrize("variable", ["HTTPS_PROXY", "https_proxy"])
def test_https_proxy_tunnels_to_the_api(
    tls_fake: FakeLast9,
    proxy: ConnectProxy,
    job: Job,
    certificate: tuple[Path, Path],
    variable: str,
) -> None:
    """`HTTPS_PROXY` is honoured: one tunnel to the API, and the token never crosses it in clear."""
    inputs = inputs_for(tls_fake)
    env = {variable: proxy.url, "REQUESTS_CA_BUNDLE": str(certificate[0])}
    result = job.run(inputs, env=env, process=True)
    assert result.returncode == 0, result.log
    assert len(tls_fake.events()) == 1
    port = tls_fake.url.rpartition(":")[2]
    [request] = proxy.requests
    assert request.startswith(f"CONNECT 127.0.0.1:{port} HTTP/")
    assert inputs["refresh-token"].encode() not in proxy.relayed
    assert result.outputs["access-token"].encode() not in proxy.relayed


@pytest.mark.parametrize("no_proxy", ["127.0.0.1", "localhost,127.0.0.1", "*"])
def test_no_proxy_bypasses_the_proxy(
    tls_fake: FakeLast9,
    proxy: ConnectProxy,
    job: Job,
    certificate: tuple[Path, Path],
    no_proxy: str,
) -> None:
    """A host in `NO_PROXY` is reached directly: the proxy hears nothing."""
    env = {
        "HTTPS_PROXY": proxy.url,
        "NO_PROXY": no_proxy,
        "REQUESTS_CA_BUNDLE": str(certificate[0]),
    }
    result = job.run(inputs_for(tls_fake), env=env, process=True)
    assert result.returncode == 0, result.log
    assert len(tls_fake.events()) == 1
    assert proxy.requests == []
