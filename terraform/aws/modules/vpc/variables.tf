# Inputs are named as in terraform-aws-modules/vpc, so the stack can switch to the registry module by
# changing `source` and adding `version`.

variable "name" {
  description = "Name of the VPC, used as the prefix of every resource name and Name tag."
  type        = string
}

variable "cidr" {
  description = "IPv4 CIDR block of the VPC."
  type        = string
}

variable "azs" {
  description = "Availability zones, one subnet of each tier per zone (in the same order as the subnet lists)."
  type        = list(string)
}

variable "public_subnets" {
  description = "CIDR blocks of the public subnets (NAT gateways only; nothing gets a public IP on launch)."
  type        = list(string)
}

variable "private_subnets" {
  description = "CIDR blocks of the private subnets (ECS tasks, Lambda functions); egress through NAT."
  type        = list(string)
}

variable "database_subnets" {
  description = "CIDR blocks of the database subnets (RDS, ElastiCache, MSK); no route to or from the internet."
  type        = list(string)
}

variable "single_nat_gateway" {
  description = "Share one NAT gateway between all private subnets instead of one per availability zone."
  type        = bool
  default     = false
}

variable "flow_log_traffic_type" {
  description = "Traffic the VPC flow log records: ACCEPT, REJECT or ALL."
  type        = string
  default     = "ALL"

  validation {
    condition     = contains(["ACCEPT", "REJECT", "ALL"], var.flow_log_traffic_type)
    error_message = "flow_log_traffic_type must be ACCEPT, REJECT or ALL."
  }
}

variable "flow_log_retention_in_days" {
  description = "Retention of the flow log's CloudWatch log group, in days."
  type        = number
}

variable "vpc_flow_log_permissions_boundary" {
  description = "ARN of the permissions boundary of the flow log's IAM role (the registry module's input name)."
  type        = string
  default     = null
}

variable "flow_log_cloudwatch_log_group_kms_key_id" {
  description = "ARN of the KMS key that encrypts the flow log's CloudWatch log group."
  type        = string
}
