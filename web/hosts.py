"""The host names the app answers to.

A page of evil.example whose name an attacker points at 127.0.0.1 (DNS rebinding) could read
a local archive, and a forged Host header would end up in feed and API links: the app answers
only to names it was started for. Werkzeug's own TRUSTED_HOSTS check cannot match an IPv6
address such as [::1] before Werkzeug 3.2, so names are matched here, after Werkzeug has
checked the header's syntax (request.host is "" when the header is malformed).
"""

from __future__ import annotations

import ipaddress
import os
import re
import socket
from collections.abc import Iterable
from urllib.parse import urlsplit

from werkzeug.wsgi import host_is_trusted

ALLOWED_HOSTS_ENV = "ARCHIVE_ALLOWED_HOSTS"
# The names a browser on this machine uses for a server bound to the loopback address.
LOCAL_NAMES = ("localhost", "127.0.0.1", "::1")
# Bind addresses that listen on every interface of the machine.
WILDCARDS = ("0.0.0.0", "::")


def host_name(host: str) -> str | None:
    """The name in a Host header or an --allowed-host value: lower case, port dropped, an IPv6
    address without brackets ('Example.org:8080' -> 'example.org', '[::1]:5000' -> '::1');
    None when it is not a host name."""
    if host.count(":") > 1 and not host.startswith("["):
        host = f"[{host}]"  # an IPv6 address as a user writes it
    if not host_is_trusted(host):  # syntax only: letters, digits, dots, dashes, a port
        return None
    name = urlsplit(f"//{host}").hostname
    if not name:
        return None
    try:
        return ipaddress.ip_address(name).compressed  # one spelling per address
    except ValueError:
        return name


def shown(name: str) -> str:
    """A name as it is written in a URL: an IPv6 address in brackets."""
    return f"[{name}]" if ":" in name else name


def default_hosts(bind: str) -> list[str]:
    """The names a server listening on `bind` answers to unless told more."""
    name = host_name(bind) or bind
    if name in LOCAL_NAMES:
        return list(LOCAL_NAMES)
    if name in WILDCARDS:
        # Every address of the machine reaches it, but only these names are known without
        # asking DNS; the start-up message says how to add the others.
        machine = host_name(socket.gethostname())
        return [*LOCAL_NAMES, name, *([machine] if machine else [])]
    return [name]


def split_hosts(text: str) -> list[str]:
    """The names in a list written with commas or spaces between them."""
    return [part for part in re.split(r"[,\s]+", text) if part]


def env_hosts() -> list[str]:
    """The names in $ARCHIVE_ALLOWED_HOSTS."""
    return split_hosts(os.environ.get(ALLOWED_HOSTS_ENV, ""))


def allowed_hosts(names: Iterable[str]) -> tuple[str, ...]:
    """The names normalised as host_name() does, in order, without repeats; ValueError names
    the first that is not a host name."""
    normal = []
    for name in names:
        value = host_name(name)
        if value is None:
            raise ValueError(f"{name!r} is not a host name (such as archive.example.org, "
                             "192.168.1.20 or ::1)")
        normal.append(value)
    return tuple(dict.fromkeys(normal))
