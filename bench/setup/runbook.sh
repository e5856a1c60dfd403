#!/usr/bin/env bash
# The runbook's commands (/work/shared/seed/000_168a8750a1cede05.txt, its bash blocks), in
# its order, by the AWS CLI: the VPC, subnets, internet gateway and route table (step 1), the
# security group (2), the cache subnet group (3), the cache and its wait (4), then for each
# function its VpcConfig (5), the layer and each function's layers (6), and each function's
# environment (8). The only additions are what Lambda requires of anyone following it: each
# function update is waited for (`aws lambda wait function-updated-v2`) before that function
# is updated again, or the next update fails with ResourceConflictException; and the
# functions' role gets AWSLambdaVPCAccessExecutionRole before step 5, without which Lambda
# refuses the VpcConfig (the runbook never says so). `pip install
# redis` (step 6) is left out: the layer is a small local zip, so no network is timed.
#
#   FUNCTIONS="articles-api news-api" ROLE_NAME=cct-demo-lambda-role AWS_ENDPOINT_URL=... bash bench/setup/runbook.sh
set -euo pipefail
: "${FUNCTIONS:?space-separated function names}"
: "${ROLE_NAME:?the execution role of the functions}"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# Step 1: VPC
VPC_ID=$(aws ec2 create-vpc --cidr-block 10.0.0.0/16 \
  --tag-specifications 'ResourceType=vpc,Tags=[{Key=Name,Value=cct-vpc}]' --query 'Vpc.VpcId' --output text)
SUBNET1_ID=$(aws ec2 create-subnet --vpc-id "$VPC_ID" --cidr-block 10.0.1.0/24 --availability-zone us-east-1a \
  --tag-specifications 'ResourceType=subnet,Tags=[{Key=Name,Value=cct-subnet-1a}]' --query 'Subnet.SubnetId' --output text)
SUBNET2_ID=$(aws ec2 create-subnet --vpc-id "$VPC_ID" --cidr-block 10.0.2.0/24 --availability-zone us-east-1b \
  --tag-specifications 'ResourceType=subnet,Tags=[{Key=Name,Value=cct-subnet-1b}]' --query 'Subnet.SubnetId' --output text)
IGW_ID=$(aws ec2 create-internet-gateway \
  --tag-specifications 'ResourceType=internet-gateway,Tags=[{Key=Name,Value=cct-igw}]' \
  --query 'InternetGateway.InternetGatewayId' --output text)
aws ec2 attach-internet-gateway --vpc-id "$VPC_ID" --internet-gateway-id "$IGW_ID"
ROUTE_TABLE_ID=$(aws ec2 create-route-table --vpc-id "$VPC_ID" \
  --tag-specifications 'ResourceType=route-table,Tags=[{Key=Name,Value=cct-route-table}]' \
  --query 'RouteTable.RouteTableId' --output text)
aws ec2 create-route --route-table-id "$ROUTE_TABLE_ID" --destination-cidr-block 0.0.0.0/0 --gateway-id "$IGW_ID" >/dev/null
aws ec2 associate-route-table --subnet-id "$SUBNET1_ID" --route-table-id "$ROUTE_TABLE_ID" >/dev/null
aws ec2 associate-route-table --subnet-id "$SUBNET2_ID" --route-table-id "$ROUTE_TABLE_ID" >/dev/null

# Step 2: security group
SG_ID=$(aws ec2 create-security-group --group-name elasticache-sg --description "Security group for ElastiCache Redis" \
  --vpc-id "$VPC_ID" --query 'GroupId' --output text)
aws ec2 authorize-security-group-ingress --group-id "$SG_ID" --protocol tcp --port 6379 --cidr 10.0.0.0/16 >/dev/null

# Step 3: subnet group
aws elasticache create-cache-subnet-group --cache-subnet-group-name cct-cache-subnet-group \
  --cache-subnet-group-description "Subnet group for CCT cache" --subnet-ids "$SUBNET1_ID" "$SUBNET2_ID" >/dev/null

# Step 4: the cache, and its wait
aws elasticache create-cache-cluster --cache-cluster-id cct-cache --engine redis --cache-node-type cache.t3.micro \
  --num-cache-nodes 1 --cache-subnet-group-name cct-cache-subnet-group --security-group-ids "$SG_ID" \
  --engine-version 7.0 --port 6379 --preferred-maintenance-window sun:05:00-sun:06:00 >/dev/null
aws elasticache wait cache-cluster-available --cache-cluster-id cct-cache
REDIS_ENDPOINT=$(aws elasticache describe-cache-clusters --cache-cluster-id cct-cache --show-cache-node-info \
  --query 'CacheClusters[0].CacheNodes[0].Endpoint.Address' --output text)

updated() { aws lambda wait function-updated-v2 --function-name "$1"; }

# Step 5: each function into the VPC (its role may create network interfaces first)
aws iam attach-role-policy --role-name "$ROLE_NAME" \
  --policy-arn arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole
for f in $FUNCTIONS; do
  aws lambda update-function-configuration --function-name "$f" \
    --vpc-config "SubnetIds=$SUBNET1_ID,$SUBNET2_ID,SecurityGroupIds=$SG_ID" >/dev/null
  updated "$f"
done

# Step 6: the layer, on each function
mkdir -p "$WORK/python"
echo 'VERSION = "runbook"' >"$WORK/python/redis_stub.py"
(cd "$WORK" && python3 -m zipfile -c redis-layer.zip python)
aws lambda publish-layer-version --layer-name redis-layer --description "Redis client for Python" \
  --zip-file "fileb://$WORK/redis-layer.zip" --compatible-runtimes python3.12 >/dev/null
LAYER_ARN=$(aws lambda list-layer-versions --layer-name redis-layer --query 'LayerVersions[0].LayerVersionArn' --output text)
for f in $FUNCTIONS; do
  aws lambda update-function-configuration --function-name "$f" --layers "$LAYER_ARN" >/dev/null
  updated "$f"
done

# Step 8: each function's environment
REDIS_ENDPOINT=$(aws elasticache describe-cache-clusters --cache-cluster-id cct-cache --show-cache-node-info \
  --query 'CacheClusters[0].CacheNodes[0].Endpoint.Address' --output text)
for f in $FUNCTIONS; do
  aws lambda update-function-configuration --function-name "$f" \
    --environment "Variables={REDIS_HOST=$REDIS_ENDPOINT,REDIS_PORT=6379}" >/dev/null
  updated "$f"
done
