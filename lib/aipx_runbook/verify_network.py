"""Live checks of the network: the VPC and its subnets, against the environment's availability zones."""

from __future__ import annotations

from .verify_probe import FAIL, PASS, Probe, Result


def vpc(probe: Probe) -> Result:
    vpc_id = probe.outputs["vpc_id"]
    vpcs = probe.client("ec2").describe_vpcs(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Vpcs"]
    if not vpcs:
        return FAIL, f"no VPC {vpc_id} in {probe.target.region}"
    state = vpcs[0].get("State")
    return (PASS, f"{vpc_id} is available") if state == "available" else (FAIL, f"{vpc_id} is {state}")


def subnets(probe: Probe, output: str) -> Result:
    ids = list(probe.outputs[output])
    vpc_id = probe.outputs["vpc_id"]
    if not ids:
        return FAIL, "the output lists no subnet"
    found = probe.client("ec2").describe_subnets(Filters=[{"Name": "subnet-id", "Values": ids}])["Subnets"]
    problems = []
    missing = sorted(set(ids) - {s["SubnetId"] for s in found})
    if missing:
        problems.append(f"not found: {', '.join(missing)}")
    outside = sorted(s["SubnetId"] for s in found if s["VpcId"] != vpc_id)
    if outside:
        problems.append(f"not in {vpc_id}: {', '.join(outside)}")
    zones = sorted({s["AvailabilityZone"] for s in found})
    expected = probe.expectations.availability_zone_count
    if expected is not None and len(zones) != expected:
        problems.append(f"spread over {len(zones)} AZ(s), the environment expects {expected}")
    declared = probe.outputs.get("availability_zones")
    if declared is not None and set(zones) != set(declared):
        problems.append(f"AZs {', '.join(zones)} differ from availability_zones {', '.join(declared)}")
    if problems:
        return FAIL, "; ".join(problems)
    note = "" if expected is not None else " (aws.tfvars declares no availability_zone_count to compare)"
    return PASS, f"{len(ids)} subnet(s) in {vpc_id} over {', '.join(zones)}{note}"
