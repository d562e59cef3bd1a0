"""Reading an HTTP/1.1 answer off a raw socket, for tests that speak HTTP by hand."""

from __future__ import annotations


def split_answer(raw: bytes) -> tuple[int, dict[str, str], bytes]:
    """(status, headers by lower-case name, body as sent) of one raw answer."""
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(lines[0].split()[1]), headers, body
