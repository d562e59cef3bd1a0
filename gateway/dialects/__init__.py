"""Legacy dialects: each parses its own wire format into the canonical model and renders the
canonical model back into it. ``v2008`` is the 2008-08-01 API; ``sms2010`` is the deprecated
2010-04-01 /SMS/Messages resource."""
