"""The interactive page of the model: ``escalation dashboard``.

A small web app on the standard library's HTTP server, bound to this machine (127.0.0.1) unless
told otherwise. The page (plain HTML, JavaScript and CSS in ``static/``, no external assets) lets
one choose a scenario, move sliders over the main deterrence and incentive parameters and run an
ensemble; it shows the simulated monthly tempo with its band against the historical record
(through the plugin overlay), the event log of one run, and the paired differences from the
unmodified scenario on the same seeds. Settings are validated against the scenario schema before
anything runs; a mistake comes back as the one-paragraph message of
:class:`~escalation.errors.UserError`.

JSON endpoints: ``GET /api/config``, ``GET /api/scenario?id=NAME``, ``POST /api/run``,
``POST /api/cancel``, ``GET /api/status``, ``GET /api/result``; downloads of the latest result:
``GET /api/download/NAME`` (``monthly.csv``, ``events.csv``, ``tempo.png``, ``scenario.yaml``;
``/api/tempo.png`` is the figure too). Runs, status, results and downloads belong to the tab
named by the ``X-Tab`` header or the ``tab`` query parameter (see
:mod:`escalation.dashboard.jobs`); requests that name none share one state.
"""

from __future__ import annotations

import json
import math
import signal
import sys
import threading
import traceback
import webbrowser
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from escalation.dashboard.jobs import DOWNLOADS, MAX_TABS, Dashboard, tab_id
from escalation.errors import UserError

STATIC = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/index.html": ("index.html", "text/html; charset=utf-8"),
    "/app.js": ("app.js", "text/javascript; charset=utf-8"),
    "/tempo.js": ("tempo.js", "text/javascript; charset=utf-8"),
    "/style.css": ("style.css", "text/css; charset=utf-8"),
}
"""The page's files (in ``static/``) by the path they are served at."""
TAB_HEADER = "X-Tab"
"""The request header naming the browser tab a request belongs to."""
DOWNLOAD = "/api/download/"


MAX_BODY = 1_000_000
"""Largest request body read, in bytes (a run request is a few hundred)."""
MAX_DEPTH = 16
"""Deepest nesting of a request's JSON (a run request nests two levels)."""
READ_TIMEOUT = 10
"""Seconds a connection may stay silent before the server drops it."""
TOO_DEEP = f"request: JSON nested more than {MAX_DEPTH} levels deep; expected a run request"


class BadRequest(UserError):
    """A request the server refuses before reading it all (the connection is then closed)."""

    def __init__(self, message: str, status: int = 400) -> None:
        self.status = status
        super().__init__(message)


def request_body(content_type: str, length: str | None, read: Callable[[int], bytes]) -> dict:
    """The JSON object of a POST body, checked at the edge: its type, a ``Content-Length`` that
    is a whole number within :data:`MAX_BODY`, JSON nested at most :data:`MAX_DEPTH` deep and
    holding only finite numbers (``NaN``, ``Infinity`` and ``1e309`` are not numbers a scenario
    can use). ``read(n)`` reads n bytes of the body."""
    # JSON only: a page from another site cannot send that without the browser asking first (a
    # CORS preflight, which this server never grants).
    if content_type != "application/json":
        raise BadRequest("request: expected JSON (Content-Type: application/json)")
    text = (length or "0").strip()
    if not text.isdigit():
        raise BadRequest(f"request: Content-Length: expected a whole number of bytes, got {text!r}")
    size = int(text)
    if size > MAX_BODY:
        raise BadRequest(f"request: {size} bytes; expected at most {MAX_BODY:,}", status=413)
    raw = read(size) if size else b""
    if len(raw) < size:
        raise BadRequest(f"request: the body ended after {len(raw)} of {size} bytes")
    try:
        body = json.loads(raw or b"{}")
    except RecursionError:
        raise BadRequest(TOO_DEEP) from None
    except ValueError as exc:  # JSONDecodeError, or bytes that are not UTF-8
        raise BadRequest(f"request: expected JSON ({exc})") from None
    if not isinstance(body, dict):
        raise BadRequest("request: expected a JSON object")
    _check_values(body)
    return body


def _check_values(body: dict) -> None:
    """Refuse nesting beyond :data:`MAX_DEPTH` and numbers that are not finite, naming the key
    path of the first one found."""
    stack: list[tuple[str, Any, int]] = [("", body, 0)]
    while stack:
        path, value, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise BadRequest(TOO_DEEP)
        if isinstance(value, float) and not math.isfinite(value):
            raise BadRequest(f"{path or 'request'}: expected a finite number, got {value}")
        items: Iterable[tuple[str, Any]]
        if isinstance(value, dict):
            items = value.items()
        elif isinstance(value, list):
            items = ((f"[{i}]", v) for i, v in enumerate(value))
        else:
            continue
        for key, item in items:
            sub = f"{path}{key}" if key.startswith("[") else f"{path}.{key}" if path else key
            stack.append((sub, item, depth + 1))


def static_file(name: str) -> bytes:
    """A file of the page, read from the installed package."""
    return (resources.files(__package__) / "static" / name).read_bytes()


class Handler(BaseHTTPRequestHandler):
    """Routes of the page and its JSON API."""

    server: DashboardServer
    protocol_version = "HTTP/1.1"
    timeout = READ_TIMEOUT  # a client that stops sending cannot hold a thread

    def log_message(self, format: str, *args: Any) -> None:  # quiet: the page polls
        pass

    def _send(self, status: int, body: bytes, ctype: str, filename: str | None = None) -> None:
        self.send_response(status)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.send_header("Content-Type", ctype)
        if filename is not None:  # the name is made of safe characters (Result.download)
            self.send_header("Content-Disposition", f'attachment; filename="{filename}"')
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, data: Any, status: int = 200) -> None:
        self._send(status, json.dumps(data).encode(), "application/json")

    def _error(self, message: str, status: int = 400) -> None:
        self._json({"error": message}, status)

    def _tab(self, query: dict[str, str]) -> str:
        """The tab a request belongs to: its ``X-Tab`` header, else its ``tab``
        query parameter (links cannot send headers)."""
        return tab_id(self.headers.get(TAB_HEADER) or query.get("tab"))

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        dash = self.server.dashboard
        try:
            if url.path in STATIC:
                name, ctype = STATIC[url.path]
                self._send(200, static_file(name), ctype)
            elif url.path == "/api/config":
                self._json(dash.config())
            elif url.path == "/api/scenario":
                self._json(dash.library.describe(query.get("id", "")))
            elif url.path == "/api/status":
                self._json(dash.status(self._tab(query)))
            elif url.path == "/api/result":
                result = dash.result(self._tab(query))
                if result is None:
                    self._error("no result yet: run an ensemble first", 404)
                else:
                    self._json(result.info)
            elif url.path == "/api/tempo.png":
                self._download("tempo.png", query, attach=False)
            elif url.path.startswith(DOWNLOAD):
                self._download(url.path.removeprefix(DOWNLOAD), query)
            elif url.path == "/favicon.ico":
                self._send(204, b"", "image/x-icon")
            else:
                self._error(f"{url.path}: no such page", 404)
        except UserError as exc:
            self._error(str(exc))
        except Exception as exc:  # pragma: no cover - a bug; keep serving
            traceback.print_exc()
            self._error(f"internal error: {type(exc).__name__}: {exc}", 500)

    def _download(self, name: str, query: dict[str, str], attach: bool = True) -> None:
        """A file of the tab's latest result, as an attachment (or shown in place)."""
        if name not in DOWNLOADS:
            self._error(f"download {name!r}: no such file; expected one of: "
                        + ", ".join(DOWNLOADS), 404)  # fmt: skip
            return
        result = self.server.dashboard.result(self._tab(query))
        if result is None:
            self._error("no result yet: run an ensemble first", 404)
            return
        body, ctype, filename = result.download(name)
        self._send(200, body, ctype, filename if attach else None)

    do_HEAD = do_GET

    def do_POST(self) -> None:
        url = urlsplit(self.path)
        dash = self.server.dashboard
        try:
            try:
                body = request_body(
                    self.headers.get_content_type(),
                    self.headers.get("Content-Length"),
                    self.rfile.read,
                )
            except (BadRequest, OSError) as exc:
                # the body may be unread: the connection cannot carry another request
                self.close_connection = True
                if isinstance(exc, OSError):  # timed out or reset: nobody to answer
                    return
                self._error(str(exc), exc.status)
                return
            query = {k: v[-1] for k, v in parse_qs(url.query).items()}
            if url.path == "/api/run":
                self._json({"job": dash.submit(self._tab(query), body)})
            elif url.path == "/api/cancel":
                self._json({"cancelled": dash.cancel(self._tab(query))})
            else:
                self._error(f"{url.path}: no such action", 404)
        except UserError as exc:
            self._error(str(exc))
        except Exception as exc:  # pragma: no cover - a bug; keep serving
            traceback.print_exc()
            self._error(f"internal error: {type(exc).__name__}: {exc}", 500)


class DashboardServer(ThreadingHTTPServer):
    """A threading HTTP server that holds the dashboard state."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], dashboard: Dashboard) -> None:
        self.dashboard = dashboard
        super().__init__(address, Handler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        if isinstance(host, bytes | bytearray):  # the typing admits it; a TCP server gives text
            host = host.decode()
        shown = host if host not in ("0.0.0.0", "") else "127.0.0.1"
        return f"http://{shown}:{port}/"


def make_server(
    host: str = "127.0.0.1",
    port: int = 8521,
    *,
    scenarios: str | Path = "scenarios",
    replicates: int = 20,
    seed: int = 0,
    jobs: int | None = None,
    tabs: int = MAX_TABS,
) -> DashboardServer:
    """A dashboard server bound to ``host:port`` (port 0 picks a free one); not yet serving.
    It keeps the state of at most ``tabs`` browser tabs."""
    dashboard = Dashboard(
        Path(scenarios), replicates=replicates, seed=seed, jobs=jobs, max_tabs=tabs
    )
    try:
        return DashboardServer((host, port), dashboard)
    except OSError as exc:
        dashboard.close()
        raise UserError(
            f"cannot listen on {host}:{port} ({exc.strerror or exc}); choose another port "
            "with --port (0 picks a free one)"
        ) from None


def serve(
    host: str = "127.0.0.1",
    port: int = 8521,
    *,
    scenarios: str | Path = "scenarios",
    replicates: int = 20,
    seed: int = 0,
    jobs: int | None = None,
    open_browser: bool = True,
) -> int:
    """Serve the dashboard until interrupted (Ctrl-C or SIGTERM)."""
    server = make_server(
        host, port, scenarios=scenarios, replicates=replicates, seed=seed, jobs=jobs
    )

    def stop(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, stop)
    print(f"escalation dashboard at {server.url} (Ctrl-C to stop)", flush=True)
    if host not in ("127.0.0.1", "localhost", "::1"):
        print(f"note: listening on {host}: other machines can reach this page", file=sys.stderr)
    if open_browser:
        threading.Timer(0.5, webbrowser.open, args=(server.url,)).start()
    try:
        server.serve_forever(poll_interval=0.25)
    except KeyboardInterrupt:
        print("dashboard stopped", flush=True)
    finally:
        server.server_close()
        server.dashboard.close()
    return 0
