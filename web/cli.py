"""`archive serve`: the web UI on Werkzeug's threaded server (registered as a plugin command)."""

from __future__ import annotations

import click
from werkzeug.serving import make_server

from archive.config import InstancePaths, resolve_instance
from web import close_app, create_app

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; 0.0.0.0 lets other machines connect.")
@click.option("--port", type=click.IntRange(0, 65535), default=5000, show_default=True,
              help="Port to listen on (0 picks a free one).")
@click.pass_context
def serve(ctx: click.Context, host: str, port: int) -> None:
    """Search the archive in a web browser (read-only)."""
    root_obj = ctx.find_root().obj
    paths = root_obj if isinstance(root_obj, InstancePaths) else resolve_instance()
    app = create_app({"ARCHIVE_INSTANCE": paths})
    try:
        server = make_server(host, port, app, threaded=True)
    except OSError as exc:
        raise click.ClickException(
            f"cannot listen on {host}:{port}: {exc.strerror or exc} "
            "(is another server using it? try --port 0)") from None
    shown_host = f"[{host}]" if ":" in host else host
    click.echo(f"Serving the archive in {paths.root}")
    if not paths.database.is_file():
        click.echo("No archive there yet: run `archive ingest` and reload the page.")
    if host not in LOCAL_HOSTS:
        click.echo(f"Listening on {host}: other machines on the network can read the archive.")
    click.echo(f"Open http://{shown_host}:{server.server_port}/ (press Ctrl+C to stop)",
               nl=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        close_app(app)
