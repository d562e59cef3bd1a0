"""Upstream adapters: the only code that knows how the current API (or the deprecated
/SMS/Messages resource) is called."""
