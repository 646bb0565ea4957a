"""Compute models behind endpoints (I/O-free, vectorised): how many requests an endpoint can
serve at once over time, how long each takes, and traffic shifts between versions.

* :mod:`edgesim.compute.scaling` — target-tracking auto scaling of instances or tasks (EC2,
  Elastic Beanstalk, ECS on EC2, Fargate), with the delay before new capacity serves;
* :mod:`edgesim.compute.containers` — ECS/Fargate task start time: provisioning, the image pull
  from ECR by image size and distance to the registry's region, extraction, container start;
* :mod:`edgesim.compute.lambdafn` — Lambda: execution environments, cold starts by runtime,
  the concurrency limit (429), the scaling rate, memory → CPU, the 15-minute maximum;
* :mod:`edgesim.compute.deploy` — CodeDeploy-style traffic shifting (all at once, canary,
  linear) with alarm-driven rollback and exposure counts.

The models and their sources are described in docs/compute.md and docs/deployments.md.
"""
