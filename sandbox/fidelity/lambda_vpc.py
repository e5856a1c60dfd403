"""Lambda VpcConfig checked as AWS checks it, and the ENIs Lambda and ElastiCache make, which linger and block deletions."""

from __future__ import annotations

import fnmatch
import json
import uuid
from typing import Any, Callable

from . import core


# ---------------------------------------------------------------------------
# Lambda VPC configuration and EC2 network interfaces
# ---------------------------------------------------------------------------

_VPC_ACTIONS = ("ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces", "ec2:DeleteNetworkInterface")


def _role_allows(role: Any, action: str) -> bool:
    """True if an Allow statement of the role's inline or attached policies names `action`."""
    documents = list(role.policies.values())
    for policy in role.managed_policies.values():
        documents += [v.document for v in policy.versions if v.is_default]
    for doc in documents:
        parsed = json.loads(doc) if isinstance(doc, str) else doc
        statements = parsed.get("Statement", [])
        for st in statements if isinstance(statements, list) else [statements]:
            actions = st.get("Action", [])
            actions = actions if isinstance(actions, list) else [actions]
            if st.get("Effect") == "Allow" and any(fnmatch.fnmatch(action.lower(), a.lower()) for a in actions):
                return True
    return False


def patch() -> None:
    from moto.awslambda import models as lm
    from moto.awslambda.exceptions import InvalidParameterValueException
    from moto.ec2 import models as em
    from moto.ec2.exceptions import DependencyViolationError, EC2ClientError
    from moto.ec2.models.elastic_network_interfaces import NetworkInterface
    from moto.iam.models import iam_backends
    from moto.utilities.utils import get_partition

    # -- VpcConfig.VpcId ----------------------------------------------------------------
    # moto always reports "vpc-123abc"; AWS reports the VPC of the function's subnets
    # (and "" once the function has left the VPC).
    def vpc_config(self: Any) -> dict[str, Any] | None:
        if not self._vpc_config:
            return None
        cfg = dict(self._vpc_config)
        cfg.setdefault("SubnetIds", [])
        cfg.setdefault("SecurityGroupIds", [])
        cfg["VpcId"] = ""
        if cfg["SubnetIds"]:
            ec2 = em.ec2_backends[self.account_id][self.region]
            try:
                cfg["VpcId"] = ec2.get_subnet(cfg["SubnetIds"][0]).vpc_id
            except EC2ClientError:
                pass
        return cfg

    lm.LambdaFunction.vpc_config = property(vpc_config)

    # -- validating a VpcConfig ---------------------------------------------------------
    # AWS checks, before accepting a VpcConfig, that the subnets and security groups
    # exist in one VPC and that the execution role may manage network interfaces:
    # "The provided execution role does not have permissions to call
    # CreateNetworkInterface on EC2" (Lambda developer guide, "Configuring a Lambda
    # function to access resources in a VPC": the role needs
    # AWSLambdaVPCAccessExecutionRole or equivalent).
    def check_vpc_config(account_id: str, region: str, role_arn: str, cfg: dict[str, Any] | None) -> None:
        subnets = (cfg or {}).get("SubnetIds") or []
        groups = (cfg or {}).get("SecurityGroupIds") or []
        if not subnets and not groups:
            return
        ec2 = em.ec2_backends[account_id][region]
        vpcs = set()
        for subnet_id in subnets:
            try:
                vpcs.add(ec2.get_subnet(subnet_id).vpc_id)
            except EC2ClientError:
                raise InvalidParameterValueException(
                    "Error occurred while DescribeSubnets. EC2 Error Code: InvalidSubnetID.NotFound. "
                    f"EC2 Error Message: The subnet ID '{subnet_id}' does not exist"
                )
        for group_id in groups:
            group = ec2.get_security_group_from_id(group_id)
            if group is None:
                raise InvalidParameterValueException(
                    "Error occurred while DescribeSecurityGroups. EC2 Error Code: InvalidGroup.NotFound. "
                    f"EC2 Error Message: The security group '{group_id}' does not exist"
                )
            vpcs.add(group.vpc_id)
        if len(vpcs) > 1:
            raise InvalidParameterValueException("Security groups and subnets must all belong to the same VPC.")
        try:
            role = iam_backends[account_id][get_partition(region)].get_role_by_arn(role_arn)
        except Exception:
            return  # moto already validates the role; nothing more to check
        for action in _VPC_ACTIONS:
            if not _role_allows(role, action):
                name = action.split(":")[1]
                raise InvalidParameterValueException(
                    f"The provided execution role does not have permissions to call {name} on EC2"
                )

    LB = lm.LambdaBackend
    orig_create_fn = LB.create_function
    orig_update_fn = LB.update_function_configuration

    def create_function(self: Any, spec: dict[str, Any]) -> Any:
        check_vpc_config(self.account_id, self.region_name, spec.get("Role", ""), spec.get("VpcConfig"))
        return orig_create_fn(self, spec)

    def update_function_configuration(self: Any, function_name: str, qualifier: str, body: dict[str, Any]) -> Any:
        if "VpcConfig" in body:
            fn = self.get_function(function_name, qualifier)
            check_vpc_config(self.account_id, self.region_name, body.get("Role") or fn.role, body["VpcConfig"])
        return orig_update_fn(self, function_name, qualifier, body)

    LB.create_function = create_function
    LB.update_function_configuration = update_function_configuration

    # -- filters AWS supports on DescribeNetworkInterfaces that moto lacks ---------------
    orig_filter = NetworkInterface.get_filter_value

    def get_filter_value(self: Any, filter_name: str, method_name: str | None = None) -> Any:
        if filter_name == "interface-type":
            return self.interface_type
        if filter_name == "requester-managed":
            return str(bool(self.requester_managed)).lower()
        if filter_name == "status":
            return self.status
        return orig_filter(self, filter_name, method_name)

    NetworkInterface.get_filter_value = get_filter_value

    # -- what an ENI blocks ---------------------------------------------------------------
    # API_DeleteSubnet: "You must terminate all running instances [and delete all network
    # interfaces] in the subnet before you can delete the subnet" -> DependencyViolation.
    # API_DeleteSecurityGroup: "If you attempt to delete a security group that is
    # associated with an instance or network interface, is referenced by another security
    # group in the same VPC, ... the operation fails with DependencyViolation."
    EB = em.EC2Backend
    orig_delete_subnet = EB.delete_subnet
    orig_delete_sg = EB.delete_security_group
    orig_delete_eni = EB.delete_network_interface

    def delete_subnet(self: Any, subnet_id: str) -> Any:
        if any(eni.subnet.id == subnet_id for eni in self.enis.values()):
            raise DependencyViolationError(f"The subnet '{subnet_id}' has dependencies and cannot be deleted.")
        return orig_delete_subnet(self, subnet_id)

    def delete_security_group(self: Any, name: str | None = None, group_id: str | None = None) -> Any:
        group = self.get_security_group_from_id(group_id) if group_id else (
            self.get_security_group_by_name_or_id(name) if name else None)
        if group is not None:
            in_use = any(group in eni._group_set for eni in self.enis.values())
            referenced = any(
                rule.source_group.get("GroupId") == group.id
                for other in self.groups.get(group.vpc_id, {}).values() if other.id != group.id
                for rule in other.ingress_rules + other.egress_rules
            )
            if in_use or referenced:
                raise DependencyViolationError(f"resource {group.id} has a dependent object")
        return orig_delete_sg(self, name=name, group_id=group_id)

    # A Lambda- or ElastiCache-managed interface cannot be deleted by the user; the service
    # deletes it ("InvalidNetworkInterface.InUse: Interface: [eni-...] in use.").
    def delete_network_interface(self: Any, eni_id: str) -> Any:
        eni = self.enis.get(eni_id)
        if eni is not None and getattr(eni, "_cct_key", None):
            raise EC2ClientError("InvalidNetworkInterface.InUse", f"Interface: [{eni_id}] in use.")
        return orig_delete_eni(self, eni_id)

    EB.delete_subnet = delete_subnet
    EB.delete_security_group = delete_security_group
    EB.delete_network_interface = delete_network_interface
    _internal["delete_eni"] = orig_delete_eni


_internal: dict[str, Callable[..., Any]] = {}


def _desired_enis(account_id: str, region: str) -> dict[tuple[Any, ...], dict[str, Any]]:
    """The service-managed ENIs that should exist now, keyed by what makes them unique.

    Lambda (Hyperplane) creates one ENI per subnet and security-group set a function uses,
    shared by functions with the same combination (Lambda developer guide, "Lambda
    Hyperplane ENIs"). ElastiCache puts one ENI per cache node in a subnet of its subnet
    group, with the cluster's security groups (or the VPC's default group).
    """
    from moto.awslambda.models import lambda_backends
    from moto.elasticache.models import elasticache_backends

    wanted: dict[tuple[Any, ...], dict[str, Any]] = {}
    lam = dict.get(dict.get(lambda_backends, account_id) or {}, region)
    if lam is not None:
        # $LATEST and published versions (a version keeps its VpcConfig, and its ENIs).
        functions = [f for g in list(lam._lambdas._functions.values()) for f in [g["latest"], *g["versions"]]]
        for fn in functions:
            cfg = fn._vpc_config or {}
            groups = tuple(sorted(cfg.get("SecurityGroupIds") or []))
            for subnet_id in cfg.get("SubnetIds") or []:
                wanted.setdefault(("lambda", subnet_id, groups), {
                    "subnet": subnet_id, "groups": list(groups), "type": "lambda",
                    "description": f"AWS Lambda VPC ENI-{fn.function_name}-{uuid.uuid4()}",
                    "role": fn.role,
                })
    ec = dict.get(dict.get(elasticache_backends, account_id) or {}, region)
    if ec is not None:
        for cluster in list(ec.cache_clusters.values()):
            group = ec.cache_subnet_groups.get(cluster.cache_subnet_group_name or "")
            if group is None or not group.subnets:
                continue
            subnet = next((s["subnet_identifier"] for s in group.subnets
                           if s.get("subnet_availability_zone") == cluster.preferred_availability_zone),
                          group.subnets[0]["subnet_identifier"])
            wanted[("elasticache", cluster.cache_cluster_id, subnet, tuple(cluster.security_group_ids))] = {
                "subnet": subnet, "groups": list(cluster.security_group_ids), "type": "interface",
                "description": f"ElastiCache {cluster.cache_cluster_id}",
            }
        # A serverless cache's VPC endpoint: an interface in each of its subnets (elasticache_serverless.py).
        from . import elasticache_serverless

        for cache in elasticache_serverless.caches_of(ec).values():
            for subnet in cache.subnet_ids:
                wanted[("elasticache", cache.name, subnet, tuple(cache.security_group_ids))] = {
                    "subnet": subnet, "groups": list(cache.security_group_ids), "type": "interface",
                    "description": f"ElastiCache Serverless {cache.name}",
                }
    return wanted


def _role_may_delete(account_id: str, region: str, role_arn: str | None) -> bool:
    """False only for a role that exists and lacks ec2:DeleteNetworkInterface."""
    if not role_arn:
        return True
    from moto.iam.models import iam_backends
    from moto.utilities.utils import get_partition

    try:
        role = iam_backends[account_id][get_partition(region)].get_role_by_arn(role_arn)
    except Exception:
        return True
    return _role_allows(role, "ec2:DeleteNetworkInterface")


def sweep(now: float) -> None:
    from moto.ec2.models import ec2_backends

    for ec2 in core.backends(ec2_backends):
        _sweep_enis(ec2, now)


def _sweep_enis(ec2: Any, now: float) -> None:
    from moto.ec2.exceptions import EC2ClientError

    wanted = _desired_enis(ec2.account_id, ec2.region_name)
    for eni in list(ec2.enis.values()):
        key = getattr(eni, "_cct_key", None)
        if key is None:
            continue
        if key in wanted:
            wanted.pop(key)
            eni._cct_unused_since = None
            continue
        # Lambda's unused ENIs linger before Lambda deletes them ("can take up to 20
        # minutes", Lambda developer guide); ElastiCache's go with their cluster.
        if key[0] == "lambda":
            if eni._cct_unused_since is None:
                eni._cct_unused_since, eni._cct_linger_s = now, core.config["eniLingerSeconds"]
            if now - eni._cct_unused_since < eni._cct_linger_s:
                continue
            # Lambda deletes the interface with the function's execution role: a role that
            # still exists but no longer allows ec2:DeleteNetworkInterface leaves it behind
            # (Lambda developer guide, VPC execution role permissions: "If you remove the
            # permissions ... Lambda can't delete the network interfaces"), holding its
            # subnet and groups until someone restores the permission.
            if not _role_may_delete(ec2.account_id, ec2.region_name, getattr(eni, "_cct_role", None)):
                continue
        _internal["delete_eni"](ec2, eni.id)
        for address in eni.private_ip_addresses:
            eni.subnet.del_subnet_ip(address["PrivateIpAddress"])
    for key, spec in wanted.items():
        try:
            subnet = ec2.get_subnet(spec["subnet"])
        except EC2ClientError:
            continue
        eni = ec2.create_network_interface(subnet, None, group_ids=spec["groups"] or None,
                                           description=spec["description"])
        eni.interface_type = spec["type"]
        eni.requester_managed = True
        eni.status = "in-use"
        eni._cct_key = key
        eni._cct_role = spec.get("role")
        eni._cct_unused_since = None
