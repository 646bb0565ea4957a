"""AWS Global Accelerator, in one folder (docs/global-accelerator.md, docs/live-ga.md):

* :mod:`.model`: the I/O-free model (configuration, checks, routing decisions, tables);
* :mod:`.service`: the scenario section ``global_accelerator:`` and its simulation target;
* :mod:`.cfn`: the CloudFormation converter (``AWS::GlobalAccelerator::*``);
* :mod:`.live`: the live TCP/UDP proxy, its part of ``edgesim serve`` and its DNS answers;
* :mod:`.cli`: ``edgesim ga serve``.

The core parts (model, service, cfn) import nothing from the live or CLI parts (checked by
``lint-imports``).
"""

from __future__ import annotations

from edgesim.services.accelerator.service import SERVICES

__all__ = ["SERVICES"]
