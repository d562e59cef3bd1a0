"""The examples of the 2008-08-01 documentation the product was specified from (seeds 000 and
003: Twilio's "REST API: Sending SMS Messages" and "REST API: SMS Messages" pages for the
2008-08-01 API), quoted verbatim as test data. Only the XML examples and request lines are kept.
"""

from __future__ import annotations

ACCOUNT = "AC309475e5fede1b49e100272a8640f438"

# Seed 000, "Examples": the request body and the answer.
SEND_BODY = "From=415-555-1212&To=555-867-5309&Body=Hi+Jenny%21+want+to+grab+dinner%3F"
SEND_RESPONSE = """
<TwilioResponse>
    <SMSMessage>
        <Sid>SM872fb94e3b358913777cdb313f25b46f</Sid>
        <DateCreated>Sun, 04 Oct 2009 03:48:08 -0700</DateCreated>
        <DateUpdated>Sun, 04 Oct 2009 03:48:10 -0700</DateUpdated>
        <DateSent>Sun, 04 Oct 2009 03:48:10 -0700</DateSent>
        <AccountSid>AC5ea872f6da5a21de157d80997a64bd33</AccountSid>
        <To>5558675309</To>
        <From>4155551212</From>
        <Body>Hi Jenny! Want to grab dinner?</Body>
        <Status>sent</Status>
        <Flags>2</Flags>
    </SMSMessage>
</TwilioResponse>
"""

# Seed 003, "GET" of an instance.
FETCH_RESPONSE = """
<TwilioResponse>
    <SMSMessage>
        <Sid>SM872fb94e3b358913777cdb313f25b46f</Sid>
        <DateCreated>Sun, 04 Oct 2009 03:48:08 -0700</DateCreated>
        <DateUpdated>Sun, 04 Oct 2009 03:48:10 -0700</DateUpdated>
        <DateSent>Sun, 04 Oct 2009 03:48:10 -0700</DateSent>
        <AccountSid>AC5ea872f6da5a21de157d80997a64bd33</AccountSid>
        <To>4158675309</To>
        <From>6505551212</From>
        <Body>Hi there Jenny! Why didn't you call me back?</Body>
        <Status>sent</Status>
        <Flags>2</Flags>
    </SMSMessage>
</TwilioResponse>
"""

# Seed 003, "GET" of the list (its first two messages).
LIST_RESPONSE = """
<TwilioResponse>
    <SMSMessages page="0" numpages="2" pagesize="50" total="69" start="0"
end="49">
        <SMSMessage>
            <Sid>SM872fb94e3b358913777cdb313f25b46f</Sid>
            <DateCreated>Sun, 04 Oct 2009 03:48:08 -0700</DateCreated>
            <DateUpdated>Sun, 04 Oct 2009 03:48:10 -0700</DateUpdated>
            <DateSent>Sun, 04 Oct 2009 03:48:10 -0700</DateSent>
            <AccountSid>AC5ea872f6da5a21de157d80997a64bd33</AccountSid>
            <To>4158675309</To>
            <From>6505551212</From>
            <Body>Hi there Jenny! Want to grab dinner?</Body>
            <Status>sent</Status>
            <Flags>2</Flags>
        </SMSMessage>
        <SMSMessage>
            <Sid>SM47dfd824add482e1fee25ee3ce216113</Sid>
            <DateCreated>Sun, 04 Oct 2009 03:48:07 -0700</DateCreated>
            <DateUpdated>Sun, 04 Oct 2009 03:48:07 -0700</DateUpdated>
            <DateSent>Sun, 04 Oct 2009 03:48:07 -0700</DateSent>
            <AccountSid>AC5ea872f6da5a21de157d80997a64bd33</AccountSid>
            <To>6505551212</To>
            <From>4158675309</From>
            <Body>The judge said you can't text me anymore.</Body>
            <Status>sent</Status>
            <Flags>1</Flags>
        </SMSMessage>
    </SMSMessages>
</TwilioResponse>
"""

# Seed 003, "POST" example of the list resource.
LIST_POST_BODY = "To=4158675309&From=6505551212&Body=Hi+Jenny+u+didnt+return+my+last+text+whats+up"
