"""AWS Systems Manager: maintenance windows and Patch Manager over endpoint fleets.

The ``ssm:`` scenario section (docs/ssm.md). :mod:`.rate` holds Run Command's rate controls
(MaxConcurrency, MaxErrors, statuses), :mod:`.schedule` the cron/rate/at schedules,
:mod:`.config` the section's model and :mod:`.service` the service itself.
"""

from __future__ import annotations

from edgesim.services.ssm.service import SystemsManager

SERVICES = (SystemsManager,)

__all__ = ["SERVICES", "SystemsManager"]
