"""Route 53 emulation: routing-policy decisions (spec: docs/route53.md)."""

from edgesim.route53.policies import (
    CONTINENTS,
    DEFAULT_LOCATION,
    MULTIVALUE_MAX,
    POLICIES,
    Answer,
    BiasFormula,
    CidrCollection,
    FailoverRole,
    Policy,
    Query,
    Record,
    biased_distance_km,
    choose,
    validate_record_set,
)

__all__ = [
    "CONTINENTS",
    "DEFAULT_LOCATION",
    "MULTIVALUE_MAX",
    "POLICIES",
    "Answer",
    "BiasFormula",
    "CidrCollection",
    "FailoverRole",
    "Policy",
    "Query",
    "Record",
    "biased_distance_km",
    "choose",
    "validate_record_set",
]
