"""Global Accelerator: the I/O-free model (configuration, checks, routing decisions, tables).

The scenario service is :mod:`edgesim.services.accelerator`; a live proxy can use the same
decision code. See ``docs/global-accelerator.md``.
"""

from __future__ import annotations

from edgesim.accelerator.model import (
    ADDRESS_POOLS,
    BUCKETS,
    Accelerator,
    Decision,
    Endpoint,
    EndpointGroup,
    HealthCheck,
    Listener,
    PortRange,
    RoutingTables,
    build_tables,
    decide,
    directed_group,
    flow_hash_5tuple,
    flow_hash_source,
    static_addresses,
    validate,
)

__all__ = [
    "ADDRESS_POOLS",
    "BUCKETS",
    "Accelerator",
    "Decision",
    "Endpoint",
    "EndpointGroup",
    "HealthCheck",
    "Listener",
    "PortRange",
    "RoutingTables",
    "build_tables",
    "decide",
    "directed_group",
    "flow_hash_5tuple",
    "flow_hash_source",
    "static_addresses",
    "validate",
]
