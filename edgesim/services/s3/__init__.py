"""Amazon S3 and S3 Transfer Acceleration, in one folder (docs/s3-transfer-acceleration.md):

* :mod:`.model`: the I/O-free split-TCP multipart model of uploads, direct and accelerated;
* :mod:`.service`: the scenario section ``s3:`` (buckets as targets, uploads through the
  accelerate endpoint);
* :mod:`.cfn`: the CloudFormation converter (``AWS::S3::Bucket``);
* :mod:`.cli`: ``edgesim s3ta compare``.
"""

from __future__ import annotations

from edgesim.services.s3.service import SERVICES

__all__ = ["SERVICES"]
