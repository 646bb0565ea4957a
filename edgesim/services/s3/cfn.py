"""CloudFormation → S3 buckets (Transfer Acceleration; origins of distributions)."""

from __future__ import annotations

from edgesim.cfn.convert import Converter

RESOURCE_TYPES = ("AWS::S3::Bucket",)


def convert(conv: Converter) -> None:
    for res in conv.of_type("AWS::S3::Bucket"):
        name = conv.t.physical_name(res)
        region = conv.region_of(res)
        conv.bucket_of[res.logical_id] = (name, region)
        raw = res.properties.get("AccelerateConfiguration")
        if not isinstance(raw, dict):
            continue
        p = conv.p(res)
        p.get("BucketName")
        status = p.sub("AccelerateConfiguration").get("AccelerationStatus")
        on = status == "Enabled"
        if on and "." in name:
            conv.skip(
                p.path("AccelerateConfiguration"),
                f"bucket '{name}' has a dot in its name: S3 refuses Transfer Acceleration",
            )
            on = False
        conv.s3_buckets[res.logical_id] = {
            "name": name,
            "region": region,
            "transfer_acceleration": on,
        }
        conv.done.add(res.logical_id)
