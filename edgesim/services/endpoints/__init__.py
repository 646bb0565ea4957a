"""Endpoints, in one folder (docs/compute.md, docs/deployments.md): the servers behind
everything (origins, API back ends), with queueing, compute models and deployments.

* :mod:`.model`: the scenario section ``endpoints:``;
* :mod:`.target`: :class:`EndpointTarget`, an endpoint in the simulation;
* :mod:`.service`: the :class:`Endpoints` service (targets, timeline actions, report);
* :mod:`.cfn`: the CloudFormation converter of compute resources (Lambda, ECS, Beanstalk,
  EC2, Auto Scaling) into endpoints;
* :mod:`.live`: the endpoints' part of ``edgesim serve``.
"""

from __future__ import annotations

from edgesim.services.endpoints.model import EndpointsConfig, EndpointSpec
from edgesim.services.endpoints.service import SERVICES, Endpoints
from edgesim.services.endpoints.target import EndpointTarget

__all__ = ["SERVICES", "EndpointSpec", "EndpointTarget", "Endpoints", "EndpointsConfig"]
