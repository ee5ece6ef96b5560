data "aws_availability_zones" "available" {
  state = "available"

  # An allowlist of zone names: the subnets' zones cannot shift when AWS adds a zone to the region.
  filter {
    name   = "zone-name"
    values = [for suffix in var.availability_zone_suffixes : "${var.region}${suffix}"]
  }

  lifecycle {
    postcondition {
      condition     = length(self.names) >= var.availability_zone_count
      error_message = "Only ${length(self.names)} of the zones ${join(", ", var.availability_zone_suffixes)} are available in ${var.region}; availability_zone_count is ${var.availability_zone_count}."
    }
  }
}

locals {
  azs = slice(sort(data.aws_availability_zones.available.names), 0, var.availability_zone_count)

  # /16 example: public 10.x.0-2.0/24, private 10.x.16.0/20 ... (room for Fargate and Lambda ENIs),
  # database 10.x.64-66.0/24. The layout also fits a /20 VPC, with proportionally smaller subnets.
  public_subnet_cidrs   = [for index in range(var.availability_zone_count) : cidrsubnet(var.vpc_cidr, 8, index)]
  private_subnet_cidrs  = [for index in range(var.availability_zone_count) : cidrsubnet(var.vpc_cidr, 4, index + 1)]
  database_subnet_cidrs = [for index in range(var.availability_zone_count) : cidrsubnet(var.vpc_cidr, 8, index + 64)]
}

# A local module with the resource addresses and input names of terraform-aws-modules/vpc; README
# ("Network") explains why it is not the registry module itself.
module "vpc" {
  source = "./modules/vpc"

  name             = local.name
  cidr             = var.vpc_cidr
  azs              = local.azs
  public_subnets   = local.public_subnet_cidrs
  private_subnets  = local.private_subnet_cidrs
  database_subnets = local.database_subnet_cidrs

  single_nat_gateway = var.single_nat_gateway

  flow_log_retention_in_days               = var.log_retention_days
  flow_log_cloudwatch_log_group_kms_key_id = aws_kms_key.this.arn
  vpc_flow_log_permissions_boundary        = local.permissions_boundary_arn
}
