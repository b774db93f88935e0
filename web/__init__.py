"""The read-only web UI: search pages and article pages over one archive instance."""

from __future__ import annotations

import os
from typing import Any

from flask import Flask, Response, render_template
from werkzeug.exceptions import HTTPException

from archive.config import InstancePaths, resolve_instance
from web.access import ArchiveHolder, NoArchive

# No inline script or style anywhere: whatever an article smuggles into a page cannot run.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """The Flask app for the archive named by ARCHIVE_INSTANCE (config) or resolve_instance()."""
    config = dict(test_config or {})
    paths = _instance_paths(config.get("ARCHIVE_INSTANCE"))
    # Flask would otherwise guess an instance folder next to the installed package, which
    # is not where `archive ingest` put the archive.
    app = Flask(__name__, instance_path=str(paths.root))
    app.config.update(config, ARCHIVE_INSTANCE=paths)
    app.extensions["archive"] = ArchiveHolder(paths)

    from web import articles, search

    app.register_blueprint(search.bp)
    app.register_blueprint(articles.bp)
    app.after_request(_security_headers)
    app.register_error_handler(NoArchive, _no_archive)
    app.register_error_handler(HTTPException, _http_error)
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


def _security_headers(response: Response) -> Response:
    # setdefault: the raw-source view sets a stricter policy of its own.
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return response


def _no_archive(error: NoArchive) -> tuple[str, int]:
    return render_template("no_archive.html", error=error), 503


def _http_error(error: HTTPException) -> tuple[str, int, list[tuple[str, str]]] | HTTPException:
    if error.code is None or error.code < 400:
        return error  # redirects and the like pass through untouched
    # Keep headers such as Allow (405); the body becomes our own page.
    headers = [(name, value) for name, value in error.get_headers()
               if name.lower() != "content-type"]
    page = render_template("error.html", code=error.code, name=error.name,
                           message=error.description)
    return page, error.code, headers
