"""The 2010-04-01 /SMS/Messages dialect (the deprecated resource twilio-python 3.x-5.x and
twilio-node 1.x-2.x still call as ``client.sms.messages``)."""
