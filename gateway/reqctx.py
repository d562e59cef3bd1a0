"""What a handler records about the request it served, for the access log and the metrics.

Handlers store these on the aiohttp request (``request[DIALECT] = "v2008"``); the
observability middleware reads them after the handler returns. Keys are plain strings so that
any module can set them without importing the observability code.
"""

from __future__ import annotations

DIALECT = "gw.dialect"  # "v2008" | "sms2010" | "passthrough" | "callback" | "inbound" | "ops"
OPERATION = "gw.operation"  # "send" | "fetch" | "list" | "status_callback" | "inbound_sms" | ...
ACCOUNT_SID = "gw.account_sid"
TWILIO_CODE = "gw.twilio_code"  # the Twilio error code of an error answer, if any
UPSTREAM_STATUS = "gw.upstream_status"  # HTTP status of the last upstream answer
UPSTREAM_SECONDS = "gw.upstream_seconds"  # total seconds spent waiting on upstream
UPSTREAM_REQUESTS = "gw.upstream_requests"  # how many upstream requests served this request
