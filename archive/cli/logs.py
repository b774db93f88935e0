"""Where the library's log messages go when it runs as the `archive` command."""

from __future__ import annotations

import logging

import click

# Library modules log under this name (logging.getLogger(__name__)).
PACKAGE_LOGGER = "archive"


class _EchoHandler(logging.Handler):
    """Writes records to standard error through click, which looks the stream up at each call
    (click's test runner swaps it) and copes with terminals that cannot show every character."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            click.echo(self.format(record), err=True)
        except Exception:  # logging must never break the command
            self.handleError(record)


def configure_logging(*, verbose: bool = False, quiet: bool = False) -> None:
    """Warnings and errors by default; with verbose also the archive's own info and debug
    messages (not every library's); with quiet errors only."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, _EchoHandler)]:
        root.removeHandler(handler)  # a command run again in the same process (tests)
    handler = _EchoHandler()
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(logging.ERROR if quiet else logging.WARNING)
    logging.getLogger(PACKAGE_LOGGER).setLevel(logging.DEBUG if verbose else logging.NOTSET)
