"""Loose comparison of names: headline with headline, site name with site name or domain."""

from __future__ import annotations

import re
import unicodedata

from archive import domains

_NOT_WORD = re.compile(r"[\W_]+")
_QUOTES = str.maketrans({c: None for c in "'\"‘’‚‛“”„‟«»‹›`´"})
_DASHES = re.compile(r"[\u2010-\u2015\u2212-]")
_JOINED_WORDS = re.compile(r"[^\W\d_]{2,}[-_][^\W\d_]{2,}")


def squash(name: str) -> str:
    """A name reduced to lower-case letters and digits: "The Hill" and "TheHill" agree."""
    return _NOT_WORD.sub("", unicodedata.normalize("NFKC", name).casefold())


def fold(text: str) -> str:
    """A headline reduced for comparison: case, quotes, dashes and punctuation ignored."""
    text = unicodedata.normalize("NFKC", text).casefold().translate(_QUOTES)
    return " ".join(_NOT_WORD.sub(" ", _DASHES.sub(" ", text)).split())


def site_label(host: str | None) -> str | None:
    """The label a site registered: "nytimes" for www.nytimes.com, "bbc" for news.bbc.co.uk."""
    return domains.site_label(host)


def site_domain(host: str | None) -> str | None:
    """The registered domain: "nytimes.com" for www.nytimes.com."""
    return domains.registered_domain(host)


def service_labels(host: str | None) -> set[str]:
    """Host labels left of the registered domain ("hosted" in hosted.ap.org)."""
    return set(domains.subdomain_labels(host))


def matches_domain(name: str, host: str | None) -> bool:
    """Whether a name plausibly is the site at `host`: its squashed form, or its initials."""
    label = site_label(host)
    if not label:
        return False
    key, site = squash(name), squash(label)
    if not key or not site:
        return False
    if key == site or key == squash(site_domain(host) or ""):
        return True
    if len(site) >= 3 and key.startswith(site):  # "BBC News" on bbc.co.uk
        return True
    if len(site) >= 4 and site in key:  # "The Detroit News" on detroitnews.com
        return True
    if len(key) >= 4 and key in site and len(key) * 2 >= len(site):
        return True
    words = [w for w in _NOT_WORD.split(unicodedata.normalize("NFKC", name).casefold()) if w]
    initials = "".join(w[0] for w in words if w not in {"the", "of", "and"})
    return len(initials) >= 2 and initials == site


def same_name(a: str, b: str) -> bool:
    """Two spellings of one site name ("TheHill"/"The Hill", "SpaceNews"/"SpaceNews.com")."""
    x, y = squash(a), squash(b)
    if not x or not y:
        return False
    if x == y:
        return True
    short, long_ = sorted((x, y), key=len)
    # a domain ending or a leading article is the only difference we forgive
    rest = long_.replace(short, "", 1) if short in long_ else None
    return rest in {"com", "net", "org", "info", "the", "ru", "de", "couk", "ca", "in", "au"}


def is_slug(name: str, host: str | None) -> bool:
    """A lower-case handle standing in for a name ("cleveland", "nj"), or a server label."""
    key = squash(name)
    if key in {squash(label) for label in service_labels(host)}:
        return True
    if name != name.lower() or " " in name or "." in name:
        return False
    # "topicseed-website", "my_blog": words joined as an identifier, not written as a name
    # (scripts without case join words with "_" in names too: "史蒂文的家_藍天").
    return bool(host and key == squash(site_label(host) or "")) or (
        name != name.upper() and bool(_JOINED_WORDS.search(name)))


def headline_similarity(a: str, b: str) -> float:
    """1.0 for the same headline, down to 0 for unrelated ones; tails and prefixes allowed."""
    x, y = fold(a), fold(b)
    if not x or not y:
        return 0.0
    if x == y:
        return 1.0
    short, long_ = sorted((x, y), key=len)
    if short in long_ and len(short) >= 10 and len(short) * 10 >= len(long_) * 3:
        return 0.9
    words_a, words_b = set(x.split()), set(y.split())
    if len(words_a) < 3 or len(words_b) < 3:
        return 0.0
    return 0.8 * len(words_a & words_b) / max(len(words_a), len(words_b))
