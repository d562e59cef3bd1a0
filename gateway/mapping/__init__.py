"""Pure translation rules between the canonical model and the legacy vocabularies.

One module per question: ``status`` (how does Status map?), ``flags`` (Direction -> Flags),
``numbers`` (phone numbers in and out), ``dates`` (RFC 2822 in and out). No I/O here.
"""
