"""State store URLs: which schemes the gateway accepts, and the form that may be logged."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit

SCHEMES = ("memory", "redis", "rediss", "unix")


def scheme_of(url: str) -> str:
    """The URL's scheme, or ``ValueError`` naming the accepted ones."""
    scheme = urlsplit(url).scheme.lower()
    if scheme not in SCHEMES:
        accepted = ", ".join(f"{s}://" for s in SCHEMES)
        raise ValueError(f"state URL scheme must be one of {accepted}, got {scheme or 'none'!r}")
    return scheme


def mask_url(url: str) -> str:
    """``url`` with any password (in the authority or a ``password=`` query field) as ``***``,
    so the URL can go into logs, errors and ``check-config``."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, hostport = netloc.rpartition("@")
        user, sep, password = userinfo.partition(":")
        if sep and password:
            netloc = f"{user}:***@{hostport}"
        elif not sep and user and parts.scheme.lower() in ("redis", "rediss"):
            # redis://secret@host: redis-py reads a lone userinfo as a user name, but people
            # write passwords there by mistake, and a masked user name costs nothing.
            netloc = f"***@{hostport}"
    query = parts.query
    if query:
        fields = parse_qsl(query, keep_blank_values=True)
        if any(name.lower() == "password" for name, _ in fields):
            query = urlencode(
                [(n, "***" if n.lower() == "password" else v) for n, v in fields], safe="*"
            )
    # urlunsplit would drop the "//" of an empty authority (memory://, unix:///path).
    masked = f"{parts.scheme}://{netloc}{parts.path}"
    if query:
        masked += f"?{query}"
    return masked + (f"#{parts.fragment}" if parts.fragment else "")


def has_password(url: str) -> bool:
    return mask_url(url) != url
