"""Shared state: what must agree across the gateway's processes and replicas.

:mod:`gateway.state.base` declares what the gateway asks of a store; ``memory://`` (one
process, :mod:`gateway.state.memory`) and ``redis://`` (:mod:`gateway.state.redis`) answer it;
:func:`gateway.state.open.open_store` picks one by URL and :func:`gateway.state.url.mask_url`
gives the form of a URL that may be logged.
"""
