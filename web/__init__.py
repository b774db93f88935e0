"""The read-only web UI and JSON API over one archive instance: search, explain, help, articles,
exports, the Atom feed and /api/."""

from __future__ import annotations

import os
from typing import Any

from flask import Flask, Response, current_app, render_template, request
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter

from archive.config import InstancePaths, resolve_instance
from archive.memory import return_large_arrays

from .access import ArchiveHolder, NoArchive
from .api import ApiError, error_response
from .hosts import (
    ALLOWED_HOSTS_ENV,
    LOCAL_NAMES,
    allowed_hosts,
    env_hosts,
    host_name,
    split_hosts,
)
from .params import BadParameter

# No inline script or style anywhere: whatever an article smuggles into a page cannot run.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


class AsciiIntConverter(IntegerConverter):
    """<int:...> of ASCII digits only: Werkzeug's matches any Unicode digit, which would give
    every article more addresses (/articles/٣ is /articles/3)."""

    regex = r"[0-9]+"


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """The Flask app for the archive named by ARCHIVE_INSTANCE (config) or resolve_instance().

    It answers to the host names in ARCHIVE_ALLOWED_HOSTS (config; default localhost,
    127.0.0.1 and ::1) plus those in $ARCHIVE_ALLOWED_HOSTS; ValueError if one is not a name.
    """
    config = dict(test_config or {})
    return_large_arrays()
    paths = _instance_paths(config.get("ARCHIVE_INSTANCE"))
    configured = config.get("ARCHIVE_ALLOWED_HOSTS", LOCAL_NAMES)
    if isinstance(configured, str):  # a string is one list, not a list of its letters
        configured = split_hosts(configured)
    hosts = allowed_hosts([*configured, *env_hosts()])
    # Flask would otherwise guess an instance folder next to the installed package, which
    # is not where `archive ingest` put the archive.
    app = Flask(__name__, instance_path=str(paths.root))
    app.config.update(config, ARCHIVE_INSTANCE=paths, ARCHIVE_ALLOWED_HOSTS=hosts)
    app.extensions["archive"] = ArchiveHolder(paths)
    # Before any route is added: rules pick their converter when they are registered.
    app.url_map.converters["int"] = AsciiIntConverter

    from . import api, articles, feeds, search

    app.before_request(_refuse_unknown_host)
    app.register_blueprint(search.bp)
    app.register_blueprint(articles.bp)
    app.register_blueprint(feeds.bp)
    app.register_blueprint(api.bp)
    app.after_request(_security_headers)
    app.register_error_handler(ApiError, _api_error)
    app.register_error_handler(BadParameter, _bad_parameter)
    app.register_error_handler(NoArchive, _no_archive)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _server_error)
    app.jinja_env.filters["thousands"] = lambda number: f"{number:,}"
    return app


def close_app(app: Flask) -> None:
    """Release the app's archive (database connections, index searcher)."""
    holder: ArchiveHolder | None = app.extensions.get("archive")
    if holder is not None:
        holder.close()


def _instance_paths(value: InstancePaths | str | os.PathLike[str] | None) -> InstancePaths:
    if isinstance(value, InstancePaths):
        return value
    return resolve_instance(value)


def _refuse_unknown_host() -> Response | tuple[str, int] | None:
    name = host_name(request.host)
    if name is not None and name in current_app.config["ARCHIVE_ALLOWED_HOSTS"]:
        return None
    if name is None:
        message = "This server answers only requests with a valid Host header."
    else:
        message = (f"This server does not answer to host {name}; start it with "
                   f"--allowed-host {name} (or add it to {ALLOWED_HOSTS_ENV}) to allow it.")
    if _wants_json():
        return error_response(400, "host_not_allowed", message)
    return render_template("error.html", code=400, name="Unknown host", message=message), 400


def _security_headers(response: Response) -> Response:
    # setdefault: the raw-source view sets a stricter policy of its own.
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return response


# HTML for people, JSON for programs: the address says which one is asking.
def _wants_json() -> bool:
    return request.path == "/api" or request.path.startswith("/api/")


def _api_error(error: ApiError) -> Response:
    return error_response(error.status, error.code, error.message, error.parameter)


def _bad_parameter(error: BadParameter) -> Response | tuple[str, int]:
    if _wants_json():
        return error_response(400, "bad_parameter", f"{error.name}: {error.message}",
                              error.name)
    return render_template("bad_parameter.html", error=error), 400


def _no_archive(error: NoArchive) -> Response | tuple[str, int]:
    if _wants_json():
        return error_response(503, "no_archive", f"There is no archive to search: "
                                                 f"{error.reason}.")
    return render_template("no_archive.html", error=error), 503


def _http_error(error: HTTPException) -> Response | tuple[str, int, list[tuple[str, str]]] \
        | HTTPException:
    if error.code is None or error.code < 400:
        return error  # redirects and the like pass through untouched
    # Keep headers such as Allow (405); the body becomes our own page.
    headers = [(name, value) for name, value in error.get_headers()
               if name.lower() not in ("content-type", "content-length")]
    if _wants_json():
        code = (error.name or "error").lower().replace(" ", "_").replace("'", "")
        return error_response(error.code, code, error.description or error.name or "",
                              headers=headers)
    page = render_template("error.html", code=error.code, name=error.name,
                           message=error.description)
    return page, error.code, headers


def _server_error(error: Exception) -> Response | tuple[str, int]:
    # Whatever went wrong is logged with its traceback; the reader gets a short page.
    current_app.logger.exception("unhandled error on %s", request.path, exc_info=error)
    message = "Something went wrong on the server; the error has been logged."
    if _wants_json():
        return error_response(500, "internal_error", message)
    return render_template("error.html", code=500, name="Internal Server Error",
                           message=message), 500
