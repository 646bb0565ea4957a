"""A real, authoritative DNS server for a scenario's Route 53 zones (live mode).

:mod:`edgesim.dnsserver.authority` answers DNS messages with no I/O; :mod:`.server` is the
asyncio UDP/TCP shell around it.
"""
