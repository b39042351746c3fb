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
``POST /api/cancel``, ``GET /api/status``, ``GET /api/result``, ``GET /api/tempo.png``.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
import traceback
import webbrowser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from escalation.dashboard.jobs import Dashboard
from escalation.errors import UserError

STATIC = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/index.html": ("index.html", "text/html; charset=utf-8"),
    "/app.js": ("app.js", "text/javascript; charset=utf-8"),
    "/style.css": ("style.css", "text/css; charset=utf-8"),
}
"""The page's files (in ``static/``) by the path they are served at."""


def static_file(name: str) -> bytes:
    """A file of the page, read from the installed package."""
    return (resources.files(__package__) / "static" / name).read_bytes()


class Handler(BaseHTTPRequestHandler):
    """Routes of the page and its JSON API."""

    server: DashboardServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet: the page polls
        pass

    def _send(self, status: int, body: bytes, ctype: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, data: Any, status: int = 200) -> None:
        self._send(status, json.dumps(data).encode(), "application/json")

    def _error(self, message: str, status: int = 400) -> None:
        self._json({"error": message}, status)

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
                self._json(dash.status())
            elif url.path == "/api/result":
                result = dash.result
                if result is None:
                    self._error("no result yet: run an ensemble first", 404)
                else:
                    self._json(result.info)
            elif url.path == "/api/tempo.png":
                result = dash.result
                if result is None:
                    self._error("no result yet: run an ensemble first", 404)
                else:
                    self._send(200, result.png, "image/png")
            elif url.path == "/favicon.ico":
                self._send(204, b"", "image/x-icon")
            else:
                self._error(f"{url.path}: no such page", 404)
        except UserError as exc:
            self._error(str(exc))
        except Exception as exc:  # pragma: no cover - a bug; keep serving
            traceback.print_exc()
            self._error(f"internal error: {type(exc).__name__}: {exc}", 500)

    do_HEAD = do_GET

    def do_POST(self) -> None:
        url = urlsplit(self.path)
        dash = self.server.dashboard
        try:
            # JSON only: a page from another site cannot send that without the browser asking
            # first (a CORS preflight, which this server never grants).
            if self.headers.get_content_type() != "application/json":
                raise UserError("request: expected JSON (Content-Type: application/json)")
            length = int(self.headers.get("Content-Length") or 0)
            if length > 1_000_000:
                raise UserError("request too large")
            raw = self.rfile.read(length) if length else b"{}"
            try:
                body = json.loads(raw or b"{}")
            except json.JSONDecodeError as exc:
                raise UserError(f"request: expected JSON ({exc})") from None
            if not isinstance(body, dict):
                raise UserError("request: expected a JSON object")
            if url.path == "/api/run":
                self._json({"job": dash.submit(body)})
            elif url.path == "/api/cancel":
                self._json({"cancelled": dash.cancel()})
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
) -> DashboardServer:
    """A dashboard server bound to ``host:port`` (port 0 picks a free one); not yet serving."""
    dashboard = Dashboard(Path(scenarios), replicates=replicates, seed=seed, jobs=jobs)
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
