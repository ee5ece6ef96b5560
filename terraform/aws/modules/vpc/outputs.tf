output "vpc_id" {
  description = "ID of the VPC."
  value       = aws_vpc.this[0].id
}

output "vpc_cidr_block" {
  description = "CIDR block of the VPC."
  value       = aws_vpc.this[0].cidr_block
}

output "azs" {
  description = "Availability zones of the subnets."
  value       = var.azs
}

output "public_subnets" {
  description = "IDs of the public subnets."
  value       = aws_subnet.public[*].id
}

output "private_subnets" {
  description = "IDs of the private subnets."
  value       = aws_subnet.private[*].id
}

output "database_subnets" {
  description = "IDs of the database subnets."
  value       = aws_subnet.database[*].id
}

output "database_subnet_group_name" {
  description = "Name of the RDS subnet group over the database subnets."
  value       = aws_db_subnet_group.database[0].name
}

output "nat_public_ips" {
  description = "Elastic IPs of the NAT gateways (the VPC's egress addresses)."
  value       = aws_eip.nat[*].public_ip
}

output "vpc_flow_log_id" {
  description = "ID of the VPC flow log."
  value       = aws_flow_log.this[0].id
}
