"""`archive serve`: the web UI on waitress, a production WSGI server (registered as a plugin
command)."""

from __future__ import annotations

import errno
import socket

import click
from waitress import create_server

from archive.config import InstancePaths, resolve_instance

from . import close_app, create_app
from .hosts import LOCAL_NAMES, WILDCARDS, default_hosts, host_name, shown

# The app reads no request body (GET only); waitress would otherwise spool up to 1 GiB of one
# to disk before the app could refuse it.
MAX_BODY_BYTES = 64 * 1024


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; 0.0.0.0 lets other machines connect.")
@click.option("--port", type=click.IntRange(0, 65535), default=5000, show_default=True,
              help="Port to listen on (0 picks a free one).")
@click.option("--threads", type=click.IntRange(1, 256), default=8, show_default=True,
              help="Requests served at the same time.")
@click.option("--allowed-host", "allowed", metavar="NAME", multiple=True,
              help="Also answer requests for this host name, e.g. a reverse proxy's public "
                   "name (repeatable). By default the server answers to the names of "
                   "--host; 0.0.0.0 adds this machine's name.")
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, threads: int,
          allowed: tuple[str, ...]) -> None:
    """Search the archive in a web browser (read-only)."""
    root_obj = ctx.find_root().obj
    paths = root_obj if isinstance(root_obj, InstancePaths) else resolve_instance()
    try:
        app = create_app({"ARCHIVE_INSTANCE": paths,
                          "ARCHIVE_ALLOWED_HOSTS": [*default_hosts(host), *allowed]})
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    try:
        # One socket on the first address of --host, as before: waitress given a name such
        # as localhost would listen on each of its addresses, each with its own port for 0.
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        listener = socket.create_server((host, port), family=family)
    except OSError as exc:
        close_app(app)
        hint = (" (is another server using it? try --port 0)"
                if exc.errno == errno.EADDRINUSE else "")
        raise click.ClickException(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}{hint}") from None
    server = create_server(app, sockets=[listener], threads=threads, server_name=host,
                           max_request_body_size=MAX_BODY_BYTES)
    click.echo(f"Serving the archive in {paths.root}"
               + ("" if paths.sqlite_file else f" (database {paths.described()})"))
    if paths.sqlite_file is not None and not paths.sqlite_file.is_file():
        click.echo("No archive there yet: run `archive ingest` and reload the page.")
    if host not in LOCAL_NAMES:
        click.echo(f"Listening on {host}: other machines on the network can read the archive.")
    names = ", ".join(shown(name) for name in app.config["ARCHIVE_ALLOWED_HOSTS"])
    hint = ("this machine's network address or another name"
            if host_name(host) in WILDCARDS else "another name")
    click.echo(f"Answering to host names {names}; to use {hint}, add --allowed-host NAME.")
    try:
        click.echo(f"Open http://{shown(host)}:{server.effective_port}/ (press Ctrl+C to stop)")
        server.run()  # returns on Ctrl+C
    except KeyboardInterrupt:
        pass  # Ctrl+C before the server loop started: stopping is still what was asked
    finally:
        server.close()
        close_app(app)
