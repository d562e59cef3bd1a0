"""A stand-in for a legacy app: sends one SMS the 2008-08-01 way and lists messages, as code
written in 2009 would, with nothing but the standard library, then exits.

    GATEWAY_URL=http://localhost:8080 python deploy/docker/legacy_client.py
"""

from __future__ import annotations

import base64
import os
import sys
import urllib.error
import urllib.parse
import urllib.request

BASE = os.environ.get("GATEWAY_URL", "http://localhost:8080").rstrip("/")
ACCOUNT = os.environ.get("DEMO_ACCOUNT_SID", "AC" + "0123456789abcdef" * 2)
TOKEN = os.environ.get("DEMO_AUTH_TOKEN", "demo-auth-token")


def call(method: str, path: str, form: dict[str, str] | None = None) -> tuple[int, str]:
    data = urllib.parse.urlencode(form).encode() if form else None
    req = urllib.request.Request(BASE + path, data=data, method=method)
    req.add_header("Authorization", "Basic " + base64.b64encode(
        f"{ACCOUNT}:{TOKEN}".encode()).decode())
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def main() -> int:
    messages = f"/2008-08-01/Accounts/{ACCOUNT}/SMS/Messages"
    status, body = call("POST", messages, {
        "From": "415-555-0000", "To": "415-555-1212", "Body": "Hello from 2009!",
    })
    print(f"POST {messages} -> {status}\n{body}\n")
    if status != 201:
        return 1
    status, body = call("GET", messages)
    print(f"GET {messages} -> {status}\n{body}")
    return 0 if status == 200 else 1


if __name__ == "__main__":
    sys.exit(main())
