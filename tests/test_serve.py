"""`archive serve` as a user starts it: a real server process (waitress) over a real archive."""

from __future__ import annotations

import http.client
import json
import signal
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from click.testing import CliRunner

from archive.cli import main as archive_cli
from tests.conftest import PATIENCE
from tests.web_fixtures import Server, build_archive, running_server

pytest_plugins = ["tests.web_fixtures"]

# The longest any one socket operation may take: a server that does not answer fails the
# test after this instead of hanging it.
PROXY_NAME = "archive.example.org"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("serve")
    with running_server(build_archive(root).root, root / "server.log",
                        "--threads", "2", "--allowed-host", PROXY_NAME) as server:
        yield server


def address(server: Server) -> tuple[str, int]:
    parts = urlsplit(server.url)
    assert parts.hostname is not None and parts.port is not None
    return parts.hostname, parts.port


def fetch(server: Server, path: str, host: str | None = None, method: str = "GET",
          body: bytes | None = None) -> tuple[int, http.client.HTTPMessage, bytes]:
    """Status, headers and body; `host` replaces the Host header the address implies."""
    connection = http.client.HTTPConnection(*address(server), timeout=PATIENCE)
    try:
        connection.request(method, path, body=body, headers={"Host": host} if host else {})
        response = connection.getresponse()
        return response.status, response.headers, response.read()
    finally:
        connection.close()


def fetch_json(server: Server, path: str, host: str | None = None) -> tuple[int, Any]:
    status, headers, body = fetch(server, path, host)
    assert headers["Content-Type"] == "application/json"
    return status, json.loads(body)


# --- host names ---------------------------------------------------------------------------------

def test_unknown_host_is_refused_by_the_real_server(served: Server) -> None:
    status, body = fetch_json(served, "/api/articles/1", host="evil.example")
    assert status == 400
    assert body["error"]["code"] == "host_not_allowed"
    assert "--allowed-host evil.example" in body["error"]["message"]
    status, _, page = fetch(served, "/search.atom?q=ferry", host="evil.example:80")
    assert status == 400 and b"evil.example" in page and b"http://evil.example" not in page


def test_links_follow_the_host_the_request_names(served: Server) -> None:
    _, port = address(served)
    for host, root in ((None, served.url), (f"localhost:{port}", f"http://localhost:{port}/"),
                       (PROXY_NAME, f"http://{PROXY_NAME}/")):
        status, body = fetch_json(served, "/api/articles/1", host=host)
        assert status == 200, body
        assert body["links"]["self"] == f"{root}api/articles/1"
        assert body["links"]["html"] == f"{root}articles/1"


def test_start_up_says_which_host_names_it_answers_to(served: Server) -> None:
    assert (f"Answering to host names localhost, 127.0.0.1, [::1], {PROXY_NAME}; "
            "to use another name, add --allowed-host NAME.") in served.banner
    assert "other machines" not in served.banner


def test_ipv6_loopback_answers_to_its_own_address(tmp_path: Path) -> None:
    try:
        socket.create_server(("::1", 0), family=socket.AF_INET6).close()
    except OSError:
        pytest.skip("no IPv6 loopback here")
    with running_server(tmp_path / "no-archive", tmp_path / "server.log",
                        "--host", "::1") as server:
        assert server.url.startswith("http://[::1]:")
        status, body = fetch_json(server, "/api/articles/1")
        assert status == 503 and body["error"]["code"] == "no_archive"
        status, body = fetch_json(server, "/api/articles/1", host="evil.example")
        assert status == 400


# --- the server itself ---------------------------------------------------------------------------

def test_partial_requests_do_not_hold_up_others(served: Server) -> None:
    """More clients than threads, each halfway through sending its request: another client
    is still answered at once, and so is each of them when it finishes."""
    waiting = []
    try:
        for _ in range(3):  # the server has 2 threads
            client = socket.create_connection(address(served), timeout=PATIENCE)
            client.sendall(b"GET /api/articles/1 HTTP/1.1\r\nHost: localhost\r\n")
            waiting.append(client)
        status, body = fetch_json(served, "/api/search?q=ferry")
        assert status == 200 and body["total"] == 8
        for client in waiting:
            client.sendall(b"Connection: close\r\n\r\n")
            with client.makefile("rb") as answer:
                assert answer.readline().startswith(b"HTTP/1.1 200 ")
    finally:
        for client in waiting:
            client.close()


@pytest.mark.parametrize("path", ["/", "/?q=ferry", "/articles/1", "/articles/1/raw",
                                  "/api/articles/1", "/static/style.css", "/nowhere"])
def test_security_headers_on_the_real_server(served: Server, path: str) -> None:
    _, headers, _ = fetch(served, path)
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    policy = headers["Content-Security-Policy"]
    assert policy.startswith("sandbox") if path.endswith("/raw") else "default-src 'self'" in policy


def test_request_limits_on_the_real_server(served: Server) -> None:
    status, body = fetch_json(served, "/api/search?q=" + "%C3%A9" * 1_001)
    assert status == 400 and body["error"]["parameter"] == "q"
    status, _, _ = fetch(served, "/api/search", method="POST", body=b"x" * 100_000)
    assert status == 413


def test_ctrl_c_stops_the_server_cleanly(tmp_path: Path) -> None:
    with running_server(tmp_path / "no-archive", tmp_path / "server.log") as server:
        server.process.send_signal(signal.SIGINT)
        assert server.process.wait(timeout=PATIENCE) == 0
        assert server.log.read_text() == ""


def test_a_taken_port_is_a_clear_error(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        result = CliRunner().invoke(archive_cli, ["--instance", str(tmp_path), "serve",
                                                  "--port", str(port)])
    assert result.exit_code == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.output
    assert "try --port 0" in result.output
    result = CliRunner().invoke(archive_cli, ["--instance", str(tmp_path), "serve",
                                              "--host", "no-such-host.invalid"])
    assert result.exit_code == 1
    assert "cannot listen on no-such-host.invalid:5000" in result.output
    assert "try --port 0" not in result.output


def test_every_interface_answers_to_the_machine_name_and_says_so(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    started: dict[str, Any] = {}

    class NotServing:
        """Stands in for waitress: the test only reads what `serve` prints."""

        effective_port = "5123"

        def __init__(self, app: Any, sockets: list[socket.socket], **options: Any) -> None:
            started.update(app=app, sockets=sockets, options=options)

        def run(self) -> None:
            pass

        def close(self) -> None:
            for listener in started["sockets"]:
                listener.close()

    monkeypatch.setattr("archive_web.cli.create_server", NotServing)
    monkeypatch.setattr("socket.gethostname", lambda: "reading-room")
    result = CliRunner().invoke(archive_cli, ["--instance", str(tmp_path), "serve", "--host",
                                              "0.0.0.0", "--port", "0", "--threads", "3"])
    assert result.exit_code == 0, result.output
    assert "Listening on 0.0.0.0: other machines on the network can read the archive." \
        in result.output
    assert ("Answering to host names localhost, 127.0.0.1, [::1], 0.0.0.0, reading-room; to "
            "use this machine's network address or another name, add --allowed-host NAME."
            ) in result.output
    assert "Open http://0.0.0.0:5123/ (press Ctrl+C to stop)" in result.output
    assert started["options"]["threads"] == 3
    assert started["app"].config["ARCHIVE_ALLOWED_HOSTS"] == (
        "localhost", "127.0.0.1", "::1", "0.0.0.0", "reading-room")


def test_a_bad_allowed_host_is_a_clear_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(archive_cli, ["--instance", str(tmp_path), "serve",
                                              "--allowed-host", "https://archive.example.org/"])
    assert result.exit_code == 1
    assert "'https://archive.example.org/' is not a host name" in result.output
