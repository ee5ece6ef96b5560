"""Live checks of the workloads: the ECS cluster and services (compute), OMS in Cloud Map, the cognitive API."""

from __future__ import annotations

from urllib.parse import urlparse

from botocore.exceptions import ClientError

from . import aws_errors, contract
from .verify_probe import EMULATOR, FAIL, PASS, SKIP, Probe, Result

# ---- compute --------------------------------------------------------------------------------------------


def ecs_cluster(probe: Probe) -> Result:
    name = probe.outputs["ecs_cluster_name"]
    expected = contract.ecs_cluster_name(probe.settings.name)
    clusters = probe.client("ecs").describe_clusters(clusters=[name])["clusters"]
    if not clusters or clusters[0].get("status") != "ACTIVE":
        return FAIL, f"no ACTIVE cluster {name}"
    if name != expected:
        return FAIL, f"{name} is ACTIVE, but the runbook expects {expected}"
    return PASS, f"{name} is ACTIVE"


def ecs_service(probe: Probe, service: str) -> Result:
    if service not in probe.outputs["ecs_service_names"]:
        return FAIL, "not in the output ecs_service_names"
    cluster = probe.outputs["ecs_cluster_name"]
    found = probe.client("ecs").describe_services(cluster=cluster, services=[service])["services"]
    if not found or found[0].get("status") != "ACTIVE":
        return FAIL, f"no ACTIVE service {service} in {cluster}"
    desired, running = found[0].get("desiredCount", 0), found[0].get("runningCount", 0)
    if probe.emulated and desired > running:
        return SKIP, (
            f"ACTIVE with {desired} desired; {EMULATOR} starts no containers, so its running count "
            f"({running}) proves nothing"
        )
    if running >= desired:
        return PASS, f"{running} of {desired} task(s) running"
    return FAIL, f"{running} of {desired} task(s) running"


def oms_discovery(probe: Probe) -> Result:
    namespace = probe.outputs["oms_service_discovery_namespace"]
    host = probe.outputs["oms_grpc_endpoint"].rsplit(":", 1)[0]
    service, _, domain = host.partition(".")
    if domain != namespace:
        return FAIL, f"{host} is not inside the namespace {namespace}"
    discovery = probe.client("servicediscovery")
    namespaces = [n for page in discovery.get_paginator("list_namespaces").paginate() for n in page["Namespaces"]]
    match = next((n for n in namespaces if n["Name"] == namespace), None)
    if match is None:
        return FAIL, f"no Cloud Map namespace {namespace}"
    services = discovery.list_services(Filters=[{"Name": "NAMESPACE_ID", "Values": [match["Id"]]}])["Services"]
    if not any(s["Name"] == service for s in services):
        return FAIL, f"no service {service} registered in {namespace}"
    return PASS, f"{service} is registered in {namespace} ({match['Type']})"


# ---- api ------------------------------------------------------------------------------------------------


def cognitive_api(probe: Probe) -> Result:
    url = probe.outputs["cognitive_api_url"]
    api_id = probe.outputs.get("cognitive_api_id") or urlparse(url).hostname.split(".")[0]
    try:
        api = probe.client("apigatewayv2").get_api(ApiId=api_id)
    except ClientError as error:
        if aws_errors.code(error) == "NotFoundException":
            return FAIL, f"no API {api_id}"
        raise
    endpoint = api.get("ApiEndpoint", "")
    if endpoint and url.rstrip("/").startswith(endpoint.rstrip("/")):
        return PASS, f"{url} belongs to API {api['Name']} ({api_id})"
    return FAIL, f"{url} does not start with API {api_id}'s endpoint {endpoint}"
