"""Seed 001 (Twilio's "REST API: Sending SMS Messages" page for the 2010-04-01 /SMS/Messages
resource), quoted verbatim as test data: the request and its XML answer. Seed 002, the page's
later revision, repeats the request in prose only ("Send an SMS from 415-814-1829 to
415-935-2345 begging Jenny for a second chance") and asks for E.164 numbers."""

from __future__ import annotations

# The request line's account is shortened in the document ("AC5ef87..."); its answer has it
# in full.
ACCOUNT = "AC5ef872f6da5a21de157d80997a64bd33"
SEND_PATH = f"/2010-04-01/Accounts/{ACCOUNT}/SMS/Messages.Xml"
SEND_BODY = "From=+14158141829&To=+14159352345&Body=Jenny%20please%3F%21%20I%20love%20you%20%3C3"

SEND_RESPONSE = """
<TwilioResponse>
<SMSMessage>
<Sid>SM90c6fc909d8504d45ecdb3a3d5b3556e</Sid>
<DateCreated>Wed, 18 Aug 2010 20:01:40 +0000</DateCreated>
<DateUpdated>Wed, 18 Aug 2010 20:01:40 +0000</DateUpdated>
<DateSent/>
<AccountSid>AC5ef872f6da5a21de157d80997a64bd33</AccountSid>
<To>+14159352345</To>
<From>+14158141829</From>
<Body>Jenny please?! I love you <3</Body>
<Status>queued</Status>
<Direction>outbound-api</Direction>
<ApiVersion>2010-04-01</ApiVersion>
<Price/>
<Uri>/2010-04-01/Accounts/AC5ef872f6da5a21de157d80997a64bd33/SMS/Messages/SM90c6fc909d8504d45ecdb3a3d5b3556e</Uri>
</SMSMessage>
</TwilioResponse>
"""


def seed_fields() -> list[tuple[str, str]]:
    """Seed 001's answer as (element, text) pairs in order. The document writes the body's
    ``<3`` unescaped (it is a web page, not XML), so the fields are read line by line."""
    out = []
    for line in SEND_RESPONSE.strip().splitlines()[2:-2]:
        if line.endswith("/>"):
            out.append((line[1:-2], ""))
            continue
        tag = line[1:line.index(">")]
        out.append((tag, line[len(tag) + 2:-(len(tag) + 3)]))
    return out
