data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  nat_gateway_count = var.single_nat_gateway ? 1 : length(var.azs)
}

################################################################################
# VPC
################################################################################

# `count` keeps the addresses of terraform-aws-modules/vpc (module.vpc.aws_vpc.this[0], ...), which
# the operator documentation uses with `terraform state show`.
resource "aws_vpc" "this" {
  count = 1

  cidr_block           = var.cidr
  enable_dns_support   = true
  enable_dns_hostnames = true

  tags = { Name = var.name }
}

# Takes over the default security group and leaves it without rules, so nothing can use it by accident.
resource "aws_default_security_group" "this" {
  count = 1

  vpc_id = aws_vpc.this[0].id

  tags = { Name = "${var.name}-default" }
}

resource "aws_internet_gateway" "this" {
  count = 1

  vpc_id = aws_vpc.this[0].id

  tags = { Name = var.name }
}

################################################################################
# Public subnets
################################################################################

resource "aws_subnet" "public" {
  count = length(var.public_subnets)

  vpc_id                  = aws_vpc.this[0].id
  cidr_block              = var.public_subnets[count.index]
  availability_zone       = var.azs[count.index]
  map_public_ip_on_launch = false

  tags = { Name = "${var.name}-public-${var.azs[count.index]}", Tier = "public" }
}

resource "aws_route_table" "public" {
  count = 1

  vpc_id = aws_vpc.this[0].id

  tags = { Name = "${var.name}-public" }
}

resource "aws_route" "public_internet_gateway" {
  count = 1

  route_table_id         = aws_route_table.public[0].id
  destination_cidr_block = "0.0.0.0/0"
  gateway_id             = aws_internet_gateway.this[0].id
}

resource "aws_route_table_association" "public" {
  count = length(var.public_subnets)

  subnet_id      = aws_subnet.public[count.index].id
  route_table_id = aws_route_table.public[0].id
}

################################################################################
# NAT gateways
################################################################################

resource "aws_eip" "nat" {
  count = local.nat_gateway_count

  domain = "vpc"

  tags = { Name = "${var.name}-nat-${var.azs[count.index]}" }

  depends_on = [aws_internet_gateway.this]
}

resource "aws_nat_gateway" "this" {
  count = local.nat_gateway_count

  allocation_id = aws_eip.nat[count.index].id
  subnet_id     = aws_subnet.public[count.index].id

  tags = { Name = "${var.name}-${var.azs[count.index]}" }

  depends_on = [aws_internet_gateway.this]
}

################################################################################
# Private subnets
################################################################################

resource "aws_subnet" "private" {
  count = length(var.private_subnets)

  vpc_id            = aws_vpc.this[0].id
  cidr_block        = var.private_subnets[count.index]
  availability_zone = var.azs[count.index]

  tags = { Name = "${var.name}-private-${var.azs[count.index]}", Tier = "private" }
}

resource "aws_route_table" "private" {
  count = local.nat_gateway_count

  vpc_id = aws_vpc.this[0].id

  tags = { Name = var.single_nat_gateway ? "${var.name}-private" : "${var.name}-private-${var.azs[count.index]}" }
}

resource "aws_route" "private_nat_gateway" {
  count = local.nat_gateway_count

  route_table_id         = aws_route_table.private[count.index].id
  destination_cidr_block = "0.0.0.0/0"
  nat_gateway_id         = aws_nat_gateway.this[count.index].id
}

resource "aws_route_table_association" "private" {
  count = length(var.private_subnets)

  subnet_id      = aws_subnet.private[count.index].id
  route_table_id = aws_route_table.private[var.single_nat_gateway ? 0 : count.index].id
}

################################################################################
# Database subnets (isolated: only the VPC-local route)
################################################################################

resource "aws_subnet" "database" {
  count = length(var.database_subnets)

  vpc_id            = aws_vpc.this[0].id
  cidr_block        = var.database_subnets[count.index]
  availability_zone = var.azs[count.index]

  tags = { Name = "${var.name}-db-${var.azs[count.index]}", Tier = "database" }
}

resource "aws_route_table" "database" {
  count = 1

  vpc_id = aws_vpc.this[0].id

  tags = { Name = "${var.name}-db" }
}

resource "aws_route_table_association" "database" {
  count = length(var.database_subnets)

  subnet_id      = aws_subnet.database[count.index].id
  route_table_id = aws_route_table.database[0].id
}

resource "aws_db_subnet_group" "database" {
  count = 1

  name        = var.name
  description = "Database subnets of ${var.name}"
  subnet_ids  = aws_subnet.database[*].id

  tags = { Name = var.name }
}

################################################################################
# S3 gateway endpoint (free; keeps S3 traffic off the NAT gateways)
################################################################################

resource "aws_vpc_endpoint" "s3" {
  vpc_id            = aws_vpc.this[0].id
  service_name      = "com.amazonaws.${data.aws_region.current.name}.s3"
  vpc_endpoint_type = "Gateway"
  route_table_ids   = concat(aws_route_table.private[*].id, aws_route_table.database[*].id)

  tags = { Name = "${var.name}-s3" }
}

################################################################################
# Flow log
################################################################################

resource "aws_flow_log" "this" {
  count = 1

  vpc_id                   = aws_vpc.this[0].id
  traffic_type             = var.flow_log_traffic_type
  log_destination_type     = "cloud-watch-logs"
  log_destination          = aws_cloudwatch_log_group.flow_log[0].arn
  iam_role_arn             = aws_iam_role.vpc_flow_log_cloudwatch[0].arn
  max_aggregation_interval = 60

  tags = { Name = var.name }
}

resource "aws_cloudwatch_log_group" "flow_log" {
  #checkov:skip=CKV_AWS_338:Retention is the per-environment log_retention_days (dev 7, staging 30, production 365 days).
  count = 1

  name              = "/aws/vpc-flow-log/${var.name}"
  retention_in_days = var.flow_log_retention_in_days
  kms_key_id        = var.flow_log_cloudwatch_log_group_kms_key_id
}

resource "aws_iam_role" "vpc_flow_log_cloudwatch" {
  count = 1

  name                 = "${var.name}-vpc-flow-log"
  assume_role_policy   = data.aws_iam_policy_document.flow_log_assume_role.json
  permissions_boundary = var.vpc_flow_log_permissions_boundary
}

data "aws_iam_policy_document" "flow_log_assume_role" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["vpc-flow-logs.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

resource "aws_iam_role_policy" "vpc_flow_log_cloudwatch" {
  count = 1

  name   = "write-flow-log"
  role   = aws_iam_role.vpc_flow_log_cloudwatch[0].id
  policy = data.aws_iam_policy_document.flow_log_write.json
}

data "aws_iam_policy_document" "flow_log_write" {
  statement {
    actions = [
      "logs:CreateLogStream",
      "logs:PutLogEvents",
      "logs:DescribeLogStreams",
    ]
    resources = ["${aws_cloudwatch_log_group.flow_log[0].arn}:*"]
  }
}
