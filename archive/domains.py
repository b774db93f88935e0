"""Which site a web address belongs to: its registered domain, by the Public Suffix List.

news.bbc.co.uk and www.bbc.co.uk are one site, bbc.co.uk; news.sky.com is another. Where a
name may be registered is not a pattern one can guess ("example.kiev.ua", "example.me.uk",
"foo.blogspot.com"), so the list decides: the copy inside the publicsuffixlist package,
read from disk, never fetched. Its private section counts too, so foo.blogspot.com and
bar.blogspot.com are two sites, as their owners are two people.
"""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache
from urllib.parse import urlsplit

from publicsuffixlist import PublicSuffixList

_WWW = re.compile(r"^www\d*\.")


@lru_cache(maxsize=1)
def _suffixes() -> PublicSuffixList:
    # Reads the list shipped with the package (about 50 ms, once per process).
    return PublicSuffixList(accept_unknown=True, only_icann=False)


def host_of(address: str) -> str | None:
    """The host name of a URL or of a bare host ("bbc.co.uk/news"), lower case, without
    a port or a trailing dot; None when there is none."""
    address = address.strip()
    if not address:
        return None
    try:
        host = urlsplit(address if "//" in address else f"//{address}").hostname
    except ValueError:
        return None
    return host.rstrip(".").lower() if host else None


@lru_cache(maxsize=65536)
def registered_domain(host: str | None) -> str | None:
    """The domain a site registered: "bbc.co.uk" for news.bbc.co.uk, "example.kiev.ua" for
    www.example.kiev.ua, "foo.blogspot.com" for foo.blogspot.com. None for an IP address,
    a public suffix alone ("co.uk") or a name of one label ("localhost")."""
    if not host:
        return None
    host = host.strip().rstrip(".").lower()
    if "." not in host or _is_ip(host):
        return None
    domain = _suffixes().privatesuffix(host)
    if domain and _WWW.match(domain):
        return domain.split(".", 1)[1]  # www.gov.uk: the site of a suffix's own registry
    return domain


def site_label(host: str | None) -> str | None:
    """The name a site registered, without its suffix: "bbc" for news.bbc.co.uk."""
    domain = registered_domain(host)
    return domain.split(".")[0] if domain else None


def subdomain_labels(host: str | None) -> list[str]:
    """The labels left of the registered domain: ["news"] for news.bbc.co.uk."""
    domain = registered_domain(host)
    if not host or not domain:
        return []
    host = host.strip().rstrip(".").lower()
    return host[: -len(domain)].rstrip(".").split(".") if host != domain else []


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True
