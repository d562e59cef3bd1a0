"""The 2008-08-01 dialect."""
