"""What a handler records about the request it served, for the access log and the metrics.

Handlers store these on the aiohttp request (``request[DIALECT] = "v2008"``); the
observability middleware reads them after the handler returns. They live here, apart from the
observability code, so that any module can set them without importing it.
"""

from __future__ import annotations

from aiohttp.web import RequestKey

# "v2008" | "sms2010" | "passthrough" | "callback" | "inbound" | "ops"
DIALECT = RequestKey("gw.dialect", str)
# "send" | "fetch" | "list" | "status_callback" | "inbound_sms" | ...
OPERATION = RequestKey("gw.operation", str)
ACCOUNT_SID = RequestKey("gw.account_sid", str)
# The Twilio error code of an error answer, if any.
TWILIO_CODE = RequestKey("gw.twilio_code", object)
# HTTP status of the last upstream answer, seconds spent waiting on upstream, and how many
# upstream requests served this request.
UPSTREAM_STATUS = RequestKey("gw.upstream_status", int)
UPSTREAM_SECONDS = RequestKey("gw.upstream_seconds", float)
UPSTREAM_REQUESTS = RequestKey("gw.upstream_requests", int)
