"""Offline checks of the AIPX stack (terraform/aws) and its per-environment sizing (environments/*/aws.tfvars).

Parsing, formatting, the variable and output contracts, the seed's sizing, secure defaults, the operator's IAM
policy, the Lambda placeholder package and checkov (once per environment). `terraform init/validate/test` run
where hashicorp/aws can be installed (a filesystem mirror or the registry: tests/terraform_mirror.py) and skip,
saying why, elsewhere; nothing here needs an AWS account.
"""

from __future__ import annotations

import importlib.util
import ipaddress
import json
import os
import re
import shutil
import subprocess
import zipfile
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from pathlib import Path
from typing import Any

import hcl2
import pytest

from aipx_runbook import versions
from paths import PROJECT_ROOT
from terraform_mirror import ProviderInstallation

pytestmark = pytest.mark.static

STACK = PROJECT_ROOT / "terraform" / "aws"
README = STACK / "README.md"
# The operator policies: three customer managed policies, each within the 6,144-character limit.
IAM_POLICIES = sorted(STACK.glob("iam-policy*.json"))
ENVIRONMENTS = ("dev", "staging", "production")
TFVARS = {env: PROJECT_ROOT / "environments" / env / "aws.tfvars" for env in ENVIRONMENTS}
CHECKOV_REQUIREMENTS = PROJECT_ROOT / "tests" / "static" / "requirements-checkov.txt"
LAMBDA_PLACEHOLDER = STACK / "lambda_placeholder"
COPY_IGNORE = shutil.ignore_patterns(".terraform", "*.tfstate*")

# The variables other parts of the project code against: name -> type.
CONTRACT_VARIABLES = {
    "project": "string",
    "environment": "string",
    "region": "string",
    "availability_zone_count": "number",
    "vpc_cidr": "string",
    "single_nat_gateway": "bool",
    "kafka_version": "string",
    "kafka_instance_type": "string",
    "kafka_broker_count": "number",
    "kafka_ebs_volume_size_gb": "number",
    "redis_node_type": "string",
    "redis_engine_version": "string",
    "redis_num_node_groups": "number",
    "redis_replicas_per_node_group": "number",
    "rds_instance_class": "string",
    "rds_engine_version": "string",
    "rds_multi_az": "bool",
    "rds_allocated_storage_gb": "number",
    "rds_max_allocated_storage_gb": "number",
    "rds_backup_retention_days": "number",
    "rds_deletion_protection": "bool",
    "fargate_cpu": "number",
    "fargate_memory": "number",
    "data_ingestion_desired_count": "number",
    "oms_desired_count": "number",
    "use_fargate_spot": "bool",
    "lambda_memory_mb": "number",
    "log_retention_days": "number",
    "emulator_endpoint": "string",
    "tags": "map(string)",
}
CONTRACT_DEFAULTS = {"project": "aipx", "region": "ap-northeast-2", "emulator_endpoint": "", "tags": {}}
SIZING_VARIABLES = [
    name for name in CONTRACT_VARIABLES if name not in ("project", "region", "emulator_endpoint", "tags")
]
CONSTRAINED_VARIABLES = (
    "environment",
    "availability_zone_count",
    "vpc_cidr",
    "kafka_instance_type",
    "kafka_broker_count",
    "redis_node_type",
    "rds_instance_class",
    "fargate_cpu",
    "log_retention_days",
    "emulator_endpoint",
)

# The seed's outputs table: name -> sensitive.
SEED_OUTPUTS = {
    "vpc_id": False,
    "public_subnets": False,
    "private_subnets": False,
    "kafka_bootstrap_brokers": True,
    "redis_endpoint": True,
    "database_endpoint": True,
    "oms_grpc_endpoint": False,
    "cognitive_api_url": False,
    "data_lake_bucket": False,
}
VERIFICATION_OUTPUTS = (
    "ecs_cluster_name",
    "ecs_service_names",
    "kafka_cluster_arn",
    "redis_replication_group_id",
    "database_instance_identifier",
    "database_master_user_secret_arn",
    "oms_service_discovery_namespace",
    "cognitive_api_id",
    "availability_zones",
)

# Sizing the seed prescribes. Dev's MSK has 2 brokers, not the seed's 1: MSK needs one per client subnet.
SEED_SIZING = {
    "dev": {
        "kafka_instance_type": "kafka.t3.small",
        "kafka_broker_count": 2,
        "redis_node_type": "cache.t3.micro",
        "redis_nodes": 1,
        "rds_instance_class": "db.t3.micro",
        "rds_multi_az": False,
        "fargate_cpu": 256,
        "fargate_memory": 512,
        "use_fargate_spot": True,
    },
    "production": {
        "availability_zone_count": 3,
        "kafka_instance_type": "kafka.m5.large",
        "kafka_broker_count": 3,
        "redis_node_type": "cache.r6g.large",
        "redis_nodes": 6,
        "redis_cluster_mode": True,
        "rds_instance_class": "db.r6g.xlarge",
        "rds_multi_az": True,
        "rds_deletion_protection": True,
        "fargate_cpu": 1024,
        "fargate_memory": 2048,
    },
}
# Staging sits between dev and production on every scalar of the sizing.
STAGING_BETWEEN = (
    "availability_zone_count",
    "kafka_broker_count",
    "kafka_ebs_volume_size_gb",
    "redis_nodes",
    "rds_allocated_storage_gb",
    "rds_backup_retention_days",
    "fargate_cpu",
    "fargate_memory",
    "oms_desired_count",
    "lambda_memory_mb",
    "log_retention_days",
)
FARGATE_MEMORY_OPTIONS = {
    256: {512, 1024, 2048},
    512: set(range(1024, 4096 + 1, 1024)),
    1024: set(range(2048, 8192 + 1, 1024)),
    2048: set(range(4096, 16384 + 1, 1024)),
    4096: set(range(8192, 30720 + 1, 1024)),
}
LOG_RETENTION_DAYS = {1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 3653}

# Inline checkov skips whose reason is an environment setting; production must pass without them.
ENVIRONMENT_DEPENDENT_SKIPS = {"CKV_AWS_157", "CKV_AWS_293", "CKV_AWS_338"}
SKIP_COMMENT = re.compile(r"#\s*checkov:skip=([A-Z0-9_]+)(?::(.*))?")

# Resource/data types of the stack -> (provider endpoint name, IAM service prefix); None: no API call.
AWS_TYPE_SERVICES = (
    ("aws_iam_policy_document", None, None),
    ("aws_partition", None, None),
    ("aws_region", None, None),
    ("aws_caller_identity", "sts", None),
    ("aws_vpc_security_group_", "ec2", "ec2"),
    ("aws_default_security_group", "ec2", "ec2"),
    ("aws_security_group", "ec2", "ec2"),
    ("aws_vpc", "ec2", "ec2"),
    ("aws_subnet", "ec2", "ec2"),
    ("aws_route", "ec2", "ec2"),
    ("aws_internet_gateway", "ec2", "ec2"),
    ("aws_nat_gateway", "ec2", "ec2"),
    ("aws_eip", "ec2", "ec2"),
    ("aws_flow_log", "ec2", "ec2"),
    ("aws_availability_zones", "ec2", "ec2"),
    ("aws_db_", "rds", "rds"),
    ("aws_elasticache_", "elasticache", "elasticache"),
    ("aws_msk_", "kafka", "kafka"),
    ("aws_ecs_", "ecs", "ecs"),
    ("aws_ecr_", "ecr", "ecr"),
    ("aws_lambda_", "lambda", "lambda"),
    ("aws_apigatewayv2_", "apigatewayv2", "apigateway"),
    ("aws_s3_", "s3", "s3"),
    ("aws_iam_", "iam", "iam"),
    ("aws_cloudwatch_log_", "cloudwatchlogs", "logs"),
    ("aws_kms_", "kms", "kms"),
    ("aws_sqs_", "sqs", "sqs"),
    ("aws_service_discovery_", "servicediscovery", "servicediscovery"),
)
MANAGED_POLICY_LIMIT = 6144  # characters, whitespace excluded


# ---- parsing ------------------------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """python-hcl2 output as plain values: quotes stripped from strings and keys, parser markers dropped."""
    if isinstance(value, str):
        return value[1:-1] if len(value) >= 2 and value[0] == value[-1] == '"' else value
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {_plain(k): _plain(v) for k, v in value.items() if not (isinstance(k, str) and k.startswith("__"))}
    return value


def expression(value: str) -> str:
    """An attribute's expression without the ${...} wrapper python-hcl2 puts around some of them."""
    return value[2:-1] if value.startswith("${") and value.endswith("}") else value


@cache
def parse(path: Path) -> dict[str, Any]:
    with path.open() as handle:
        return _plain(hcl2.load(handle))


def tf_files() -> list[Path]:
    return sorted(p for p in STACK.rglob("*.tf") if ".terraform" not in p.parts)


def root_files() -> list[Path]:
    return sorted(STACK.glob("*.tf"))


def module_dirs() -> list[Path]:
    return sorted({p.parent for p in tf_files() if p.parent != STACK})


def blocks(kind: str, files: list[Path]) -> dict[str, dict[str, Any]]:
    """Single-label blocks (variable, output, module) by name."""
    found: dict[str, dict[str, Any]] = {}
    for path in files:
        for block in parse(path).get(kind, []):
            found.update(block)
    return found


def typed_blocks(kind: str, files: list[Path] | None = None) -> dict[tuple[str, str], dict[str, Any]]:
    """Two-label blocks (resource, data) by (type, name)."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for path in files or tf_files():
        for block in parse(path).get(kind, []):
            for type_, named in block.items():
                for name, body in named.items():
                    found[(type_, name)] = body
    return found


def resource(type_: str, name: str) -> dict[str, Any]:
    return typed_blocks("resource")[(type_, name)]


def root_variables() -> dict[str, dict[str, Any]]:
    return blocks("variable", root_files())


def root_outputs() -> dict[str, dict[str, Any]]:
    return blocks("output", root_files())


@cache
def tfvars(env: str) -> dict[str, Any]:
    return parse(TFVARS[env])


def sizing(env: str) -> dict[str, Any]:
    values = dict(tfvars(env))
    values["redis_nodes"] = values["redis_num_node_groups"] * (1 + values["redis_replicas_per_node_group"])
    values["redis_cluster_mode"] = values["redis_num_node_groups"] > 1
    return values


def service_of(type_: str) -> tuple[str | None, str | None]:
    for prefix, endpoint, iam_prefix in AWS_TYPE_SERVICES:
        if type_.startswith(prefix):
            return endpoint, iam_prefix
    raise AssertionError(f"{type_} is not mapped in AWS_TYPE_SERVICES: add its endpoint and IAM service prefix")


def aws_types() -> set[str]:
    types = {t for t, _ in typed_blocks("resource")} | {t for t, _ in typed_blocks("data")}
    return {t for t in types if t.startswith("aws_")}


# ---- files, formatting, versions ----------------------------------------------------------------------------


def test_the_seed_file_names_exist() -> None:
    for name in ("versions.tf", "backend.tf", "provider.tf", "variables.tf", "outputs.tf"):
        assert (STACK / name).is_file(), f"terraform/aws/{name} is missing"


@pytest.mark.parametrize(
    "path", [*tf_files(), *sorted(STACK.rglob("*.tftest.hcl"))], ids=lambda p: str(p.relative_to(STACK))
)
def test_every_tf_file_parses(path: Path) -> None:
    assert parse(path), f"{path} parsed to nothing"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_tfvars_file_parses(env: str) -> None:
    assert tfvars(env), f"{TFVARS[env]} parsed to nothing"


def terraform_binary() -> str:
    binary = shutil.which("terraform")
    if binary is None:
        pytest.fail("terraform is not on PATH; run `make test`, which installs the pinned version into .venv/bin")
    return binary


def test_terraform_fmt_check() -> None:
    tfvars_files = [str(path) for path in TFVARS.values()]
    result = subprocess.run(
        [terraform_binary(), "fmt", "-check", "-recursive", "-diff", str(STACK), *tfvars_files],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, (
        f"run `terraform fmt -recursive terraform/aws` and format the tfvars:\n{result.stdout}"
    )


def test_terraform_and_provider_versions_are_pinned() -> None:
    root = parse(STACK / "versions.tf")["terraform"][0]
    assert root["required_version"] == ">= 1.5.0"
    providers = root["required_providers"][0]
    assert set(providers) == {"aws"}, "hashicorp/aws is the stack's only provider, so a mirror of it can init it"
    assert providers["aws"]["source"] == "hashicorp/aws"
    assert re.fullmatch(r"~> 5\.\d+", providers["aws"]["version"]), "hashicorp/aws must be pinned to major 5"
    used = {type_.split("_", 1)[0] for kind in ("resource", "data") for type_, _ in typed_blocks(kind)}
    assert used == {"aws"}, f"resources or data sources of providers other than aws: {sorted(used - {'aws'})}"


def test_backend_is_a_partial_s3_configuration() -> None:
    backend_blocks = [
        backend for block in parse(STACK / "backend.tf")["terraform"] for backend in block.get("backend", [])
    ]
    assert backend_blocks == [{"s3": {}}], 'backend.tf must declare `backend "s3" {}`, completed by the runbook'


def test_provider_region_tags_and_emulator_wiring() -> None:
    provider = parse(STACK / "provider.tf")["provider"][0]["aws"]
    assert provider["region"] == "${var.region}"
    assert provider["default_tags"][0]["tags"] == "${local.tags}"
    tags_expression = blocks("locals", root_files())["tags"]
    for key in ("Project", "Environment", "ManagedBy"):
        assert key in tags_expression, f"local.tags lacks {key}"
    for flag in ("skip_credentials_validation", "skip_requesting_account_id", "skip_metadata_api_check"):
        assert provider[flag] == "${local.use_emulator}", f"{flag} must follow the emulator switch"
    assert 'var.emulator_endpoint != ""' in blocks("locals", root_files())["use_emulator"]
    assert root_variables()["emulator_endpoint"]["default"] == "", "the emulator must be off unless set"
    endpoints = provider["dynamic"][0]["endpoints"]
    assert "local.use_emulator" in endpoints["for_each"]
    configured = set(endpoints["content"][0])
    needed = {service_of(t)[0] for t in aws_types()} - {None}
    assert not needed - configured, f"services without an emulator endpoint: {sorted(needed - configured)}"


# ---- variables -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("directory", [STACK, *module_dirs()], ids=lambda p: str(p.relative_to(PROJECT_ROOT)))
def test_every_variable_has_description_and_type(directory: Path) -> None:
    variables = blocks("variable", sorted(directory.glob("*.tf")))
    assert variables
    for name, body in variables.items():
        assert str(body.get("description", "")).strip(), f"variable {name} has no description"
        assert body.get("type"), f"variable {name} has no type"


def test_contract_variables_have_their_types_and_defaults() -> None:
    variables = root_variables()
    for name, type_ in CONTRACT_VARIABLES.items():
        assert name in variables, f"contract variable {name} is missing"
        assert expression(variables[name]["type"]) == type_, f"{name} must be {type_}"
    for name, default in CONTRACT_DEFAULTS.items():
        assert variables[name].get("default") == default, f"{name} must default to {default!r}"
    for name in set(variables) - set(CONTRACT_VARIABLES):
        assert "default" in variables[name], f"variable {name} is not in the contract, so it needs a default"


def test_constrained_variables_have_validation() -> None:
    variables = root_variables()
    for name in CONSTRAINED_VARIABLES:
        assert variables[name].get("validation"), f"variable {name} needs a validation block"
    assert "kafka\\\\." in variables["kafka_instance_type"]["validation"][0]["condition"]
    assert "cache\\\\." in variables["redis_node_type"]["validation"][0]["condition"]
    assert "db\\\\." in variables["rds_instance_class"]["validation"][0]["condition"]


def test_cross_variable_rules_are_preconditions() -> None:
    """Terraform 1.5 validation blocks cannot see other variables: these rules are resource preconditions."""
    msk = json.dumps(resource("aws_msk_cluster", "this")["lifecycle"])
    assert "var.kafka_broker_count % var.availability_zone_count == 0" in msk
    task_definition = json.dumps(resource("aws_ecs_task_definition", "this")["lifecycle"])
    assert "fargate_memory_options[var.fargate_cpu]" in task_definition
    database = json.dumps(resource("aws_db_instance", "this")["lifecycle"])
    assert "var.rds_max_allocated_storage_gb >= var.rds_allocated_storage_gb" in database


# ---- environments --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_tfvars_sets_only_declared_variables(env: str) -> None:
    undeclared = set(tfvars(env)) - set(root_variables())
    assert not undeclared, f"{TFVARS[env]} sets undeclared variables: {sorted(undeclared)}"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_tfvars_sets_every_required_and_sizing_variable(env: str) -> None:
    required = {name for name, body in root_variables().items() if "default" not in body}
    missing = (required | set(SIZING_VARIABLES)) - set(tfvars(env))
    assert not missing, f"{TFVARS[env]} does not set {sorted(missing)}"
    assert tfvars(env)["environment"] == env


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_tfvars_values_satisfy_the_stacks_rules(env: str) -> None:
    values = sizing(env)
    assert values["availability_zone_count"] in (2, 3)
    assert values["kafka_instance_type"].startswith("kafka.")
    assert values["redis_node_type"].startswith("cache.")
    assert values["rds_instance_class"].startswith("db.")
    assert values["kafka_broker_count"] % values["availability_zone_count"] == 0, (
        "MSK needs the broker count to be a multiple of the client subnets (one per AZ)"
    )
    assert values["fargate_memory"] in FARGATE_MEMORY_OPTIONS[values["fargate_cpu"]], "invalid Fargate size"
    assert values["log_retention_days"] in LOG_RETENTION_DAYS
    assert values["rds_max_allocated_storage_gb"] >= values["rds_allocated_storage_gb"]
    network = ipaddress.ip_network(values["vpc_cidr"])
    assert 16 <= network.prefixlen <= 20


def test_environments_use_distinct_vpc_cidrs() -> None:
    networks = [ipaddress.ip_network(tfvars(env)["vpc_cidr"]) for env in ENVIRONMENTS]
    for index, network in enumerate(networks):
        for other in networks[index + 1 :]:
            assert not network.overlaps(other), f"{network} overlaps {other}: peering would be impossible"


@pytest.mark.parametrize("env", sorted(SEED_SIZING))
def test_sizing_is_the_seeds(env: str) -> None:
    values = sizing(env)
    for name, expected in SEED_SIZING[env].items():
        assert values[name] == expected, f"{env}: {name} is {values[name]!r}, the seed says {expected!r}"


def test_staging_sits_between_dev_and_production() -> None:
    dev, staging, production = sizing("dev"), sizing("staging"), sizing("production")
    for name in STAGING_BETWEEN:
        assert dev[name] <= staging[name] <= production[name], f"staging {name} is not between dev and production"
    assert staging["redis_cluster_mode"] and staging["redis_replicas_per_node_group"] >= 1
    assert staging["rds_multi_az"]
    readme = README.read_text()
    for name in ("kafka_instance_type", "redis_node_type", "rds_instance_class"):
        assert staging[name] in readme, f"README does not document staging's {name} {staging[name]}"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_no_secret_in_tfvars(env: str) -> None:
    text = TFVARS[env].read_text()
    secret_names = re.compile(r"password|secret|token|private_key|access_key", re.IGNORECASE)
    assert not [name for name in tfvars(env) if secret_names.search(name)]
    assert not re.search(r"AKIA[0-9A-Z]{16}", text), "an AWS access key id in a tfvars file"


def test_database_password_is_managed_by_rds() -> None:
    database = resource("aws_db_instance", "this")
    assert database["manage_master_user_password"] is True
    assert "password" not in database
    assert not [name for name in root_variables() if "password" in name]


# ---- outputs -------------------------------------------------------------------------------------------------


def test_outputs_are_the_seeds_plus_the_verification_outputs() -> None:
    outputs = root_outputs()
    for name, sensitive in SEED_OUTPUTS.items():
        assert name in outputs, f"seed output {name} is missing"
        assert outputs[name].get("sensitive", False) is sensitive, f"{name}: sensitive must be {sensitive}"
    for name in VERIFICATION_OUTPUTS:
        assert name in outputs, f"verification output {name} is missing"
        assert not outputs[name].get("sensitive", False), f"{name} carries no secret and must stay readable"
    sensitive = {name for name, body in outputs.items() if body.get("sensitive")}
    assert sensitive == {name for name, flag in SEED_OUTPUTS.items() if flag}
    for name, body in outputs.items():
        assert body.get("description"), f"output {name} has no description"


def test_readme_documents_every_output_and_variable() -> None:
    readme = README.read_text()
    for name in root_outputs():
        assert f"`{name}`" in readme, f"README does not document output {name}"
    for name in root_variables():
        assert f"`{name}`" in readme, f"README does not document variable {name}"


# ---- secure defaults -----------------------------------------------------------------------------------------


def test_no_ingress_from_anywhere() -> None:
    for (type_, name), body in typed_blocks("resource").items():
        text = json.dumps(body)
        if type_ == "aws_vpc_security_group_ingress_rule":
            assert "cidr_ipv4" not in body and "cidr_ipv6" not in body, f"{type_}.{name} admits a CIDR"
            assert body.get("referenced_security_group_id"), f"{type_}.{name} must admit a security group"
        if type_ in ("aws_security_group", "aws_default_security_group"):
            assert "ingress" not in body, f"{type_}.{name}: declare rules as aws_vpc_security_group_ingress_rule"
        if type_ == "aws_security_group_rule":
            assert "0.0.0.0/0" not in text and "::/0" not in text, f"{type_}.{name} is open to the internet"


def test_data_services_are_private_and_encrypted() -> None:
    msk = resource("aws_msk_cluster", "this")
    broker = msk["broker_node_group_info"][0]
    assert broker["client_subnets"] == "${module.vpc.database_subnets}"
    assert broker["connectivity_info"][0]["public_access"][0]["type"] == "DISABLED"
    encryption = msk["encryption_info"][0]
    assert encryption["encryption_at_rest_kms_key_arn"]
    assert encryption["encryption_in_transit"][0] == {"client_broker": "TLS", "in_cluster": True}
    assert msk["client_authentication"][0]["unauthenticated"] is False

    redis = resource("aws_elasticache_replication_group", "this")
    assert redis["at_rest_encryption_enabled"] is True and redis["kms_key_id"]
    assert redis["transit_encryption_enabled"] is True
    assert redis["user_group_ids"], "Redis needs authentication (RBAC user group)"
    assert resource("aws_elasticache_subnet_group", "this")["subnet_ids"] == "${module.vpc.database_subnets}"
    assert resource("aws_elasticache_user", "default")["access_string"].startswith("off")

    database = resource("aws_db_instance", "this")
    assert database["storage_encrypted"] is True and database["kms_key_id"]
    assert database["publicly_accessible"] is False
    assert database["db_subnet_group_name"] == "${module.vpc.database_subnet_group_name}"
    assert database["deletion_protection"] == "${var.rds_deletion_protection}"
    force_ssl = [p for p in resource("aws_db_parameter_group", "this")["parameter"] if p["name"] == "rds.force_ssl"]
    assert force_ssl and force_ssl[0]["value"] == "1"
    assert resource("aws_kms_key", "this")["enable_key_rotation"] is True


def test_data_lake_is_locked_down() -> None:
    public_access = resource("aws_s3_bucket_public_access_block", "data_lake")
    for flag in ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"):
        assert public_access[flag] is True, f"data lake public access block: {flag}"
    versioning = resource("aws_s3_bucket_versioning", "data_lake")
    assert versioning["versioning_configuration"][0]["status"] == "Enabled"
    encryption = resource("aws_s3_bucket_server_side_encryption_configuration", "data_lake")
    assert encryption["rule"][0]["apply_server_side_encryption_by_default"][0]["sse_algorithm"] == "aws:kms"
    assert resource("aws_s3_bucket_lifecycle_configuration", "data_lake")["rule"]
    policy = json.dumps(typed_blocks("data")[("aws_iam_policy_document", "data_lake_bucket")])
    assert "aws:SecureTransport" in policy and '"Deny"' in policy


def test_logs_are_encrypted_and_retained_and_flow_logs_are_on() -> None:
    log_groups = [body for (type_, _), body in typed_blocks("resource").items() if type_ == "aws_cloudwatch_log_group"]
    assert log_groups
    for body in log_groups:
        assert body.get("kms_key_id"), "every log group is encrypted with the stack's key"
        assert body.get("retention_in_days"), "every log group has a retention"
    vpc_module = parse(STACK / "modules" / "vpc" / "main.tf")
    assert [block for block in vpc_module["resource"] if "aws_flow_log" in block], "VPC flow logs are off"


def test_vpc_module_keeps_the_seeds_state_address() -> None:
    """The seed's runbook runs `terraform state show module.vpc.aws_vpc.this[0]`."""
    assert "vpc" in blocks("module", root_files())
    vpc = typed_blocks("resource", sorted((STACK / "modules" / "vpc").glob("*.tf")))[("aws_vpc", "this")]
    assert vpc["count"] == 1


# ---- the operator's IAM policy -------------------------------------------------------------------------------


def _policy_statements() -> list[dict[str, Any]]:
    return [statement for path in IAM_POLICIES for statement in json.loads(path.read_text())["Statement"]]


def _as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else value


@pytest.mark.parametrize("path", IAM_POLICIES, ids=lambda path: path.name)
def test_iam_policy_is_least_privilege(path: Path) -> None:
    document = json.loads(path.read_text())
    assert document["Version"] == "2012-10-17"
    sids = [statement["Sid"] for statement in document["Statement"]]
    assert len(sids) == len(set(sids)), "statement ids must be unique"
    for statement in document["Statement"]:
        if statement["Effect"] != "Allow":
            continue
        for action in _as_list(statement["Action"]):
            service, _, name = action.partition(":")
            assert name and name != "*", f"{statement['Sid']}: {action} grants a whole service"
            if service == "iam":
                assert "*" not in name, f"{statement['Sid']}: IAM wildcards can match PassRole or AttachRolePolicy"
        actions = _as_list(statement["Action"])
        if "iam:PassRole" in actions:
            assert "iam:PassedToService" in json.dumps(statement.get("Condition")), "PassRole must be conditioned"
        if "iam:AttachRolePolicy" in actions:
            assert "iam:PolicyARN" in json.dumps(statement.get("Condition")), "AttachRolePolicy must be conditioned"
    size = len("".join(path.read_text().split()))
    assert size <= MANAGED_POLICY_LIMIT, f"{size} characters: too large for a customer managed policy"


def test_iam_policy_covers_every_service_of_the_stack() -> None:
    granted = {
        action.split(":")[0]
        for statement in _policy_statements()
        if statement["Effect"] == "Allow"
        for action in _as_list(statement["Action"])
    }
    needed = {service_of(t)[1] for t in aws_types()} - {None}
    assert not needed - granted, f"the iam-policy*.json files grant nothing for {sorted(needed - granted)}"


# ---- Lambda placeholder --------------------------------------------------------------------------------------


def _placeholder_packager() -> Any:
    spec = importlib.util.spec_from_file_location("lambda_placeholder_package", LAMBDA_PLACEHOLDER / "package.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_lambda_functions_upload_the_committed_placeholder_package() -> None:
    package = blocks("locals", [STACK / "functions.tf"])["lambda_placeholder_package"]
    assert package == "${path.module}/lambda_placeholder/handler.zip"
    function = resource("aws_lambda_function", "this")
    assert function["filename"] == "${local.lambda_placeholder_package}"
    assert function["source_code_hash"] == "${filebase64sha256(local.lambda_placeholder_package)}"
    assert function["handler"] == "handler.handler"


def test_lambda_placeholder_package_is_built_from_the_handler() -> None:
    """handler.zip is committed; editing handler.py without `python terraform/aws/lambda_placeholder/package.py`
    would deploy the old code."""
    committed = LAMBDA_PLACEHOLDER / "handler.zip"
    rebuild = "rebuild it: python terraform/aws/lambda_placeholder/package.py"
    assert committed.is_file(), f"{committed.relative_to(PROJECT_ROOT)} is missing; {rebuild}"
    with zipfile.ZipFile(committed) as archive:
        assert archive.namelist() == ["handler.py"], f"the package holds {archive.namelist()}; {rebuild}"
        packaged = archive.read("handler.py")
    assert packaged == (LAMBDA_PLACEHOLDER / "handler.py").read_bytes(), (
        f"handler.zip holds an older handler.py; {rebuild}"
    )
    packager = _placeholder_packager()
    assert packager.build() == packager.build(), "the package build is not reproducible"
    assert committed.read_bytes() == packager.build(), f"handler.zip was not made by package.py; {rebuild}"


def test_lambda_placeholder_handler(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = importlib.util.spec_from_file_location("lambda_placeholder_handler", LAMBDA_PLACEHOLDER / "handler.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setenv("SERVICE_NAME", "cognitive")
    event_result = module.handler({"source": "aws.events"}, None)
    assert event_result["status"] == "placeholder" and event_result["service"] == "cognitive"
    response = module.handler({"requestContext": {"http": {"method": "GET"}}}, None)
    assert response["statusCode"] == 200 and json.loads(response["body"])["service"] == "cognitive"


# ---- checkov -------------------------------------------------------------------------------------------------


def checkov_binary() -> Path:
    configured = os.environ.get("CHECKOV_BIN")
    binary = Path(configured) if configured else PROJECT_ROOT / ".venv-checkov" / "bin" / "checkov"
    if not binary.is_file():
        pytest.fail(
            f"checkov not found at {binary}. Run `make test`, which installs the pinned version from "
            f"{CHECKOV_REQUIREMENTS.relative_to(PROJECT_ROOT)} into .venv-checkov (or set CHECKOV_BIN)."
        )
    return binary


def _copy_stack(destination: Path, drop_skips: frozenset[str] | set[str] = frozenset()) -> Path:
    shutil.copytree(STACK, destination, ignore=COPY_IGNORE)
    if drop_skips:
        for path in destination.rglob("*.tf"):
            lines = path.read_text().splitlines(keepends=True)
            kept = [
                line for line in lines if not ((match := SKIP_COMMENT.search(line)) and match.group(1) in drop_skips)
            ]
            path.write_text("".join(kept))
    return destination


def _run_checkov(binary: Path, directory: Path, var_file: Path) -> dict[str, Any]:
    command = [
        str(binary),
        "--directory",
        str(directory),
        "--var-file",
        str(var_file),
        "--framework",
        "terraform",
        "--skip-download",
        "--download-external-modules",
        "false",
        "--compact",
        "--output",
        "json",
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    try:
        report = json.loads(result.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"checkov gave no JSON report (exit {result.returncode}):\n{result.stderr[-3000:]}")
    reports = report if isinstance(report, list) else [report]
    terraform = [r for r in reports if r.get("check_type") == "terraform"]
    assert terraform, f"checkov scanned no Terraform: {result.stdout[:500]}"
    return terraform[0]


@pytest.fixture(scope="session")
def checkov_reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """One checkov run per environment plus production without the environment-dependent skips, in parallel."""
    binary = checkov_binary()
    root = tmp_path_factory.mktemp("checkov")
    stack = _copy_stack(root / "stack")
    relaxed = _copy_stack(root / "stack-without-environment-skips", ENVIRONMENT_DEPENDENT_SKIPS)
    runs = {env: (stack, TFVARS[env]) for env in ENVIRONMENTS}
    runs["production-without-environment-skips"] = (relaxed, TFVARS["production"])
    with ThreadPoolExecutor(max_workers=len(runs)) as pool:
        futures = {name: pool.submit(_run_checkov, binary, d, var_file) for name, (d, var_file) in runs.items()}
        return {name: future.result() for name, future in futures.items()}


def _failures(report: dict[str, Any]) -> str:
    return "\n".join(
        f"  {c['check_id']} {c['check_name']}: {c['resource']} ({c['file_path']}:{c['file_line_range']})"
        for c in report["results"]["failed_checks"]
    )


@pytest.mark.xdist_group("checkov")
@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_checkov_passes(env: str, checkov_reports: dict[str, dict[str, Any]]) -> None:
    report = checkov_reports[env]
    summary = report["summary"]
    assert summary["parsing_errors"] == 0, f"checkov could not parse: {report['results']['parsing_errors']}"
    assert summary["resource_count"] >= 50 and summary["passed"] >= 200, f"checkov scanned too little: {summary}"
    assert summary["failed"] == 0, f"checkov with {env}'s var-file:\n{_failures(report)}"


@pytest.mark.xdist_group("checkov")
def test_checkov_production_needs_no_environment_skip(checkov_reports: dict[str, dict[str, Any]]) -> None:
    """The skips justified by dev/staging settings (single-AZ database, ...) are not needed by production."""
    report = checkov_reports["production-without-environment-skips"]
    assert report["summary"]["failed"] == 0, f"production fails without the skips:\n{_failures(report)}"


def _inline_skips() -> list[tuple[Path, int, str, str]]:
    skips = []
    for path in tf_files():
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            if match := SKIP_COMMENT.search(line):
                skips.append((path, number, match.group(1), (match.group(2) or "").strip()))
    return skips


def test_checkov_skips_are_inline_with_a_reason_and_documented() -> None:
    readme = README.read_text()
    skips = _inline_skips()
    assert skips, "expected the documented inline skips"
    for path, number, check_id, reason in skips:
        where = f"{path.relative_to(PROJECT_ROOT)}:{number}"
        assert len(reason) >= 20, f"{where}: skip of {check_id} needs a reason"
        previous = path.read_text().splitlines()[number - 2].strip()
        assert previous.startswith(("resource ", "#checkov:skip=")), f"{where}: put the skip first in its resource"
        assert check_id in readme, f"{where}: README does not list the skip of {check_id}"
    assert {check_id for _, _, check_id, _ in skips} >= ENVIRONMENT_DEPENDENT_SKIPS


@pytest.mark.xdist_group("checkov")
def test_checkov_skips_are_exactly_the_inline_ones(checkov_reports: dict[str, dict[str, Any]]) -> None:
    inline = {check_id for _, _, check_id, _ in _inline_skips()}
    for env in ENVIRONMENTS:
        skipped = {c["check_id"] for c in checkov_reports[env]["results"]["skipped_checks"]}
        assert skipped == inline, f"{env}: checkov skipped {sorted(skipped)}, inline skips are {sorted(inline)}"


def test_checkov_is_pinned() -> None:
    pins = [line.strip() for line in CHECKOV_REQUIREMENTS.read_text().splitlines() if line.strip()]
    assert any(re.fullmatch(r"checkov==\d+\.\d+\.\d+", pin) for pin in pins if not pin.startswith("#"))


# ---- terraform init / validate / test (needs hashicorp/aws) ---------------------------------------------------


def _terraform(stack: Path, environment: dict[str, str], *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [terraform_binary(), *arguments], cwd=stack, env=environment, capture_output=True, text=True, timeout=600
    )


@pytest.fixture(scope="module")
def initialised_stack(
    aipx_providers: ProviderInstallation, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dict[str, str]]:
    """A copy of the stack after `terraform init -backend=false` (.terraform/ and the lock file stay in tmp)."""
    root = tmp_path_factory.mktemp("terraform-init")
    stack = _copy_stack(root / "aws")
    environment = {
        **os.environ,
        **aipx_providers.environment,
        "TF_DATA_DIR": str(root / "data"),
        "TF_IN_AUTOMATION": "1",
        "CHECKPOINT_DISABLE": "1",
    }
    init = _terraform(stack, environment, "init", "-backend=false", "-input=false", "-no-color")
    if init.returncode != 0:
        pytest.fail(
            f"terraform init -backend=false, providers from {aipx_providers.source}:\n{init.stdout}{init.stderr}"
        )
    return stack, environment


@pytest.mark.xdist_group("terraform_init")
def test_terraform_init_installs_only_hashicorp_aws(initialised_stack: tuple[Path, dict[str, str]]) -> None:
    stack, _ = initialised_stack
    lock = parse(stack / ".terraform.lock.hcl")
    assert [list(block) for block in lock["provider"]] == [["registry.terraform.io/hashicorp/aws"]]


@pytest.mark.xdist_group("terraform_init")
def test_terraform_init_keeps_the_committed_lock_file(initialised_stack: tuple[Path, dict[str, str]]) -> None:
    """init with the committed lock file installs exactly the locked build and rewrites nothing."""
    stack, _ = initialised_stack
    assert (stack / ".terraform.lock.hcl").read_text() == (STACK / ".terraform.lock.hcl").read_text()


@pytest.mark.xdist_group("terraform_init")
def test_terraform_validate(initialised_stack: tuple[Path, dict[str, str]]) -> None:
    stack, environment = initialised_stack
    result = _terraform(stack, environment, "validate", "-json", "-no-color")
    report = json.loads(result.stdout)
    diagnostics = "\n".join(
        f"  {d['severity']}: {d['summary']} ({d.get('range', {}).get('filename', '')})" for d in report["diagnostics"]
    )
    assert result.returncode == 0 and report["valid"], f"terraform validate:\n{diagnostics}"
    assert report["warning_count"] == 0, f"terraform validate warns:\n{diagnostics}"


@pytest.mark.xdist_group("terraform_init")
def test_terraform_test_runs_every_run_block(initialised_stack: tuple[Path, dict[str, str]]) -> None:
    """tests/*.tftest.hcl plan dev and production with a mocked provider and expect the rules to reject bad input."""
    installed = versions.installed_version(terraform_binary())
    if installed < (1, 7, 0):
        found = versions.format_version(installed)
        pytest.skip(f"the tests mock the provider (mock_provider), which needs Terraform >= 1.7; found {found}")
    stack, environment = initialised_stack
    test_files = sorted(STACK.rglob("*.tftest.hcl"))
    assert test_files, "terraform/aws has no .tftest.hcl files"
    runs = sum(len(parse(path).get("run", [])) for path in test_files)
    result = _terraform(stack, environment, "test", "-json", "-no-color")
    messages = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    log = "\n".join(m["@message"] for m in messages if m.get("@level") != "debug")
    summaries = [m["test_summary"] for m in messages if m.get("type") == "test_summary"]
    assert result.returncode == 0 and summaries, f"terraform test failed:\n{log}\n{result.stderr}"
    assert summaries[0] == {"status": "pass", "passed": runs, "failed": 0, "errored": 0, "skipped": 0}, log
