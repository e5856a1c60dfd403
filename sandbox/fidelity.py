"""cct's fidelity additions to moto 5.2.1.

moto is a good emulator, but cct's hardest code paths exist because real AWS is slow
and refuses things: clusters take minutes to create and to delete, a cache subnet group
cannot be deleted while a cluster uses it, Lambda's VPC network interfaces linger after a
function leaves the VPC and block deleting the subnets and security groups. moto 5.2.1
models none of that. This module patches moto's backends and response classes so the
local sandbox behaves like AWS where cct depends on it. Every addition below cites the
AWS documentation (or widely reported AWS behaviour) it models.

What it adds (each section below cites its source):
- ElastiCache: replication groups (and standalone clusters) are creating -> available
  and deleting -> gone after configurable delays; member clusters <group>-001... exist and
  report SecurityGroups, CacheSubnetGroupName and (ShowCacheNodeInfo) node endpoints;
  NumCacheClusters is honoured; DeleteCacheSubnetGroup (CacheSubnetGroupInUse) and
  ModifyReplicationGroup exist; state errors (InvalidReplicationGroupState) for delete,
  modify and tags of a group that is not available.
- Lambda/EC2: a VpcConfig is validated (subnets, groups, the role's EC2 permissions) and
  reports its real VpcId; service-managed ENIs appear for Lambda functions and cache nodes,
  Lambda's linger after use; ENIs (and group references) make DeleteSubnet and
  DeleteSecurityGroup fail with DependencyViolation; interface-type, requester-managed and
  status filters work on DescribeNetworkInterfaces.
- Lambda updates: every function has a RevisionId that changes with each update and is
  checked when a caller passes one (PreconditionFailedException); an update leaves the
  function LastUpdateStatus InProgress for a configurable time, during which another
  update or PublishVersion fails (ResourceConflictException).
- Speed: cheap resets (see _patch_speed).

Design:
- Nothing runs in the background. Time-based state ("creating" until t0 + N seconds) is
  stored as timestamps on moto's own model objects, and `sweep()` applies what is due.
  `wrap_app` runs every request under one lock with a sweep before it (so every read sees
  current state) and after it (so a change is timestamped when it happened).
- State lives on moto's objects, so POST /moto-api/reset clears it; the middleware also
  restores the delay settings the server was started with.
- `install()` applies the patches; importing this module does nothing.

Run-time settings: GET/POST /cct-fidelity/config (JSON, camelCase or snake_case keys of
DEFAULTS), POST /cct-fidelity/reset (restore the start-up settings).
"""

from __future__ import annotations

import copy
import fnmatch
import json
import threading
import time
import uuid
from typing import Any, Callable

DEFAULTS: dict[str, float] = {
    "replicationGroupCreateSeconds": 0.0,
    "replicationGroupDeleteSeconds": 0.0,
    "eniLingerSeconds": 0.0,
    "lambdaUpdateSeconds": 0.0,
}
_SNAKE = {
    "replication_group_create_seconds": "replicationGroupCreateSeconds",
    "replication_group_delete_seconds": "replicationGroupDeleteSeconds",
    "eni_linger_seconds": "eniLingerSeconds",
    "lambda_update_seconds": "lambdaUpdateSeconds",
}

_startup: dict[str, float] = dict(DEFAULTS)
_config: dict[str, float] = dict(DEFAULTS)
# One lock for every request: moto itself is not thread-safe, and the sweep walks dicts
# that request handlers mutate.
_lock = threading.RLock()
_installed = False


def normalize_config(raw: dict[str, Any]) -> dict[str, float]:
    """Validate a (partial) config in camelCase or snake_case; raise ValueError if bad."""
    out: dict[str, float] = {}
    for key, value in raw.items():
        name = _SNAKE.get(key, key)
        if name not in DEFAULTS:
            raise ValueError(f"unknown fidelity setting {key!r}; known: {', '.join(DEFAULTS)}")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise ValueError(f"{key} must be a number of seconds >= 0, got {value!r}")
        out[name] = float(value)
    return out


def _now() -> float:
    return time.monotonic()


def _backends(backend_dict: Any) -> list[Any]:
    """Every instantiated (account, region) backend, without creating new ones."""
    found = []
    for account in list(dict.values(backend_dict)):
        found.extend(list(dict.values(account)))
    return found


# ---------------------------------------------------------------------------
# ElastiCache
# ---------------------------------------------------------------------------

_DEFAULT_ENGINE_VERSION = {"redis": "7.1", "valkey": "8.0"}


def _elasticache_errors() -> dict[str, type]:
    from moto.elasticache.exceptions import ElastiCacheException

    class CacheSubnetGroupInUse(ElastiCacheException):
        code = "CacheSubnetGroupInUse"

    class InvalidReplicationGroupState(ElastiCacheException):
        code = "InvalidReplicationGroupState"

    class InvalidCacheClusterState(ElastiCacheException):
        code = "InvalidCacheClusterState"

    return {
        "InUse": CacheSubnetGroupInUse,
        "RGState": InvalidReplicationGroupState,
        "CCState": InvalidCacheClusterState,
    }


def _set_group_status(rg: Any, status: str) -> None:
    """Status of a replication group, its node groups and member clusters move together.

    While a group is creating AWS has no endpoints yet (DescribeReplicationGroups shows
    no PrimaryEndpoint until the group is available), so they are hidden until then.
    """
    rg.status = status
    for ng in rg.node_groups:
        ng["status"] = status
        for holder, key in [(ng, "primary_endpoint"), (ng, "reader_endpoint")] + [
            (member, "read_endpoint") for member in ng["node_group_members"]
        ]:
            saved = holder.setdefault("_cct_saved", {})
            if key in holder:
                saved[key] = holder[key]
            if status == "creating":
                holder.pop(key, None)
            elif key in saved:
                holder[key] = saved[key]
    for cluster in getattr(rg, "_cct_members", []):
        cluster.cache_cluster_status = cluster.status = status


def _patch_elasticache() -> None:
    from moto.core.responses import ActionResult, EmptyResult, PaginatedResult
    from moto.elasticache import models as m
    from moto.elasticache.exceptions import (
        CacheClusterNotFound,
        CacheSubnetGroupNotFound,
        InvalidParameterCombinationException,
        InvalidParameterValueException,
        ReplicationGroupNotFound,
    )
    from moto.elasticache.responses import ElastiCacheResponse

    err = _elasticache_errors()
    Backend = m.ElastiCacheBackend

    # -- what DescribeCacheClusters reports ------------------------------------------
    # AWS returns SecurityGroups ([{SecurityGroupId, Status}]) and, with
    # ShowCacheNodeInfo=true only, CacheNodes with an Endpoint (API_DescribeCacheClusters,
    # API_CacheCluster). moto stores the ids but serializes neither.
    m.CacheCluster.security_groups = property(
        lambda self: [{"SecurityGroupId": g, "Status": "active"} for g in self.security_group_ids]
    )
    m.CacheCluster.at_rest_encryption_enabled = False

    def _with_nodes(cluster: Any) -> Any:
        shown = copy.copy(cluster)
        node: dict[str, Any] = {
            "cache_node_id": "0001",
            "cache_node_status": cluster.cache_cluster_status,
            "cache_node_create_time": cluster.cache_cluster_create_time,
            "parameter_group_status": "in-sync",
            "customer_availability_zone": cluster.preferred_availability_zone,
        }
        # Nodes get an address once they are up, not while creating.
        if cluster.cache_cluster_status != "creating":
            node["endpoint"] = {"address": cluster._cct_address, "port": cluster.port}
        shown.cache_nodes = [node]
        return shown

    def describe_cache_clusters(self: Any) -> Any:
        clusters = self.elasticache_backend.describe_cache_clusters(
            cache_cluster_id=self._get_param("CacheClusterId")
        )
        if self._get_bool_param("ShowCacheNodeInfo"):
            clusters = [_with_nodes(c) for c in clusters]
        return PaginatedResult({"CacheClusters": clusters})

    ElastiCacheResponse.describe_cache_clusters = describe_cache_clusters

    def _finish_cluster(cluster: Any, replication_group_id: str | None) -> None:
        # moto sets ReplicationGroupId and NumCacheNodes only when engine == "redis", so
        # valkey clusters lose them; AWS reports both for every engine.
        cluster.replication_group_id = replication_group_id
        cluster.num_cache_nodes = getattr(cluster, "num_cache_nodes", None) or 1
        cluster.engine_version = cluster.engine_version or _DEFAULT_ENGINE_VERSION.get(cluster.engine)
        if not hasattr(cluster, "_cct_address"):
            suffix = uuid.uuid4().hex[:6]
            cluster._cct_address = f"{cluster.cache_cluster_id}.{suffix}.0001.use1.cache.amazonaws.com"

    # -- standalone cache clusters: creating -> available, deleting -> gone -----------
    # AWS: CreateCacheCluster returns status "creating" and the cluster becomes
    # "available" minutes later; DeleteCacheCluster returns "deleting" and the cluster
    # then disappears (CacheClusterNotFound). A cluster that belongs to a replication
    # group cannot be deleted on its own (InvalidCacheClusterState, API_DeleteCacheCluster).
    orig_create_cluster = Backend.create_cache_cluster

    def create_cache_cluster(self: Any, **kwargs: Any) -> Any:
        group = kwargs.get("cache_subnet_group_name")
        if group and group not in self.cache_subnet_groups:
            raise CacheSubnetGroupNotFound(group)
        cluster = orig_create_cluster(self, **kwargs)
        _finish_cluster(cluster, kwargs.get("replication_group_id"))
        cluster._cct_since = _now()
        cluster._cct_create_s = _config["replicationGroupCreateSeconds"]
        if cluster._cct_create_s > 0:
            cluster.cache_cluster_status = cluster.status = "creating"
        return cluster

    orig_delete_cluster = Backend.delete_cache_cluster

    def delete_cache_cluster(self: Any, cache_cluster_id: str) -> Any:
        cluster = self.cache_clusters.get(cache_cluster_id)
        if cluster is None:
            raise CacheClusterNotFound(cache_cluster_id)
        if cluster.replication_group_id and cluster.replication_group_id in self.replication_groups:
            raise err["CCState"](
                "Cannot delete the cache cluster since it is a member of a replication group. "
                "Delete the replication group instead."
            )
        if cluster.cache_cluster_status != "available":
            raise err["CCState"](
                f"Cache cluster {cache_cluster_id} is not in a valid state to be deleted "
                f"(status: {cluster.cache_cluster_status})."
            )
        cluster = orig_delete_cluster(self, cache_cluster_id)
        cluster.status = "deleting"
        cluster._cct_since = _now()
        cluster._cct_delete_s = _config["replicationGroupDeleteSeconds"]
        _sweep_elasticache(self, _now())
        return cluster

    Backend.create_cache_cluster = create_cache_cluster
    Backend.delete_cache_cluster = delete_cache_cluster

    # -- replication groups -----------------------------------------------------------
    orig_create_rg = Backend.create_replication_group

    def create_replication_group(self: Any, **kw: Any) -> Any:
        group = kw.get("cache_subnet_group_name")
        if group and group not in self.cache_subnet_groups:
            raise CacheSubnetGroupNotFound(group)
        # API_CreateReplicationGroup: Engine is redis or valkey (memcached has no
        # replication groups); "If AutomaticFailoverEnabled is true, the value of
        # [NumCacheClusters] must be at least 2"; Multi-AZ requires automatic failover.
        engine = (kw.get("engine") or "redis").lower()
        if engine not in ("redis", "valkey"):
            raise InvalidParameterValueException(f"Invalid engine {engine} for a replication group: use redis or valkey.")
        kw["engine"] = engine
        nodes = kw.get("num_cache_clusters") or ((kw.get("replicas_per_node_group") or 0) + 1)
        cluster_mode = (kw.get("cluster_mode") or "disabled").lower() == "enabled" or (kw.get("num_node_groups") or 1) > 1
        if kw.get("automatic_failover_enabled") and nodes < 2 and not cluster_mode:
            raise InvalidParameterCombinationException(
                "When AutomaticFailoverEnabled is true, NumCacheClusters must be at least 2."
            )
        if kw.get("multi_az_enabled") and not kw.get("automatic_failover_enabled"):
            raise InvalidParameterCombinationException("Multi-AZ requires AutomaticFailoverEnabled to be true.")
        # moto ignores NumCacheClusters (it only counts ReplicasPerNodeGroup), so a
        # primary + replica request came back with one member.
        if kw.get("num_cache_clusters") and not kw.get("replicas_per_node_group"):
            kw["replicas_per_node_group"] = kw["num_cache_clusters"] - 1
        rg = orig_create_rg(self, **kw)
        rg.engine_version = rg.engine_version or _DEFAULT_ENGINE_VERSION[engine]

        # AWS reports a ReaderEndpoint for cluster-mode-disabled groups; moto computes
        # the address but never serializes it.
        for ng in rg.node_groups:
            if "reader_endpoint_address" in ng:
                ng["reader_endpoint"] = {"address": ng["reader_endpoint_address"], "port": rg.port}

        # AWS creates one cache cluster per member (<group>-001, -002, ...), visible in
        # DescribeCacheClusters with ReplicationGroupId, CacheSubnetGroupName and the
        # SecurityGroups - the only place AWS reports a group's subnet group and security
        # groups. Tags given at creation apply to the member clusters too.
        rg._cct_members = []
        for ng in rg.node_groups:
            for member in ng["node_group_members"]:
                cluster = m.CacheCluster(
                    account_id=self.account_id, region_name=self.region_name,
                    cache_cluster_id=member["cache_cluster_id"], cache_node_type=rg.cache_node_type,
                    replication_group_id=rg.replication_group_id, az_mode=None,
                    preferred_availability_zone=member.get("preferred_availability_zone"),
                    num_cache_nodes=1, engine=engine, engine_version=rg.engine_version,
                    cache_parameter_group_name=kw.get("cache_parameter_group_name"),
                    cache_subnet_group_name=group, transit_encryption_enabled=rg.transit_encryption_enabled,
                    network_type=rg.network_type, ip_discovery=rg.ip_discovery, snapshot_name=None,
                    preferred_maintenance_window=kw.get("preferred_maintenance_window"), port=rg.port,
                    notification_topic_arn=None, auto_minor_version_upgrade=True,
                    snapshot_retention_limit=rg.snapshot_retention_limit, snapshot_window=rg.snapshot_window,
                    auth_token=kw.get("auth_token"), outpost_mode=None, preferred_outpost_arn=None,
                    preferred_availability_zones=None, cache_security_group_names=None,
                    security_group_ids=list(kw.get("security_group_ids") or []), tags=None, snapshot_arns=None,
                    preferred_outpost_arns=None, log_delivery_configurations=[],
                    cache_node_ids_to_remove=None, cache_node_ids_to_reboot=None,
                )
                cluster.at_rest_encryption_enabled = rg.at_rest_encryption_enabled
                cluster._cct_address = (member.get("read_endpoint") or {}).get("address") or ""
                _finish_cluster(cluster, rg.replication_group_id)
                if kw.get("tags"):
                    self.tagging_service.tag_resource(cluster.arn, kw["tags"])
                self.cache_clusters[cluster.cache_cluster_id] = cluster
                rg._cct_members.append(cluster)

        # AWS: CreateReplicationGroup returns status "creating"; the group becomes
        # "available" when its nodes are up (minutes on AWS, replicationGroupCreateSeconds here).
        rg._cct_since = _now()
        rg._cct_create_s = _config["replicationGroupCreateSeconds"]
        _set_group_status(rg, "creating" if rg._cct_create_s > 0 else "available")
        return rg

    orig_delete_rg = Backend.delete_replication_group

    def delete_replication_group(self: Any, replication_group_id: str, retain_primary_cluster: bool | None) -> Any:
        rg = self.replication_groups.get(replication_group_id)
        if rg is None:
            raise ReplicationGroupNotFound(replication_group_id)
        # AWS refuses while the group is not available, e.g. "Replication group X has
        # status deleting which is not valid for deletion." (InvalidReplicationGroupState)
        if rg.status != "available":
            raise err["RGState"](
                f"Replication group {replication_group_id} has status {rg.status} which is not valid for deletion."
            )
        rg = orig_delete_rg(self, replication_group_id, retain_primary_cluster)
        _set_group_status(rg, "deleting")
        rg._cct_since = _now()
        rg._cct_delete_s = _config["replicationGroupDeleteSeconds"]
        _sweep_elasticache(self, _now())  # delay 0: gone at once (the response still says deleting)
        return rg

    Backend.create_replication_group = create_replication_group
    Backend.delete_replication_group = delete_replication_group

    # -- ModifyReplicationGroup (moto: not implemented) ---------------------------------
    # API_ModifyReplicationGroup: only an available group can be modified ("Replication
    # group must be in available state to modify."); security groups, description and
    # failover settings take effect without a maintenance window.
    _modifiable = {
        "ReplicationGroupId", "ApplyImmediately", "SecurityGroupIds", "ReplicationGroupDescription",
        "AutomaticFailoverEnabled", "MultiAZEnabled", "SnapshotRetentionLimit",
    }

    def modify_replication_group(self: Any) -> Any:
        params = self._get_params()
        unsupported = sorted(k for k in params if k not in _modifiable)
        if unsupported:
            # Better a clear refusal than silently ignoring a change cct asked for.
            raise InvalidParameterValueException(
                f"cct sandbox: ModifyReplicationGroup does not model {', '.join(unsupported)}"
            )
        backend = self.elasticache_backend
        rg_id = self._get_param("ReplicationGroupId")
        rg = backend.replication_groups.get(rg_id)
        if rg is None:
            raise ReplicationGroupNotFound(rg_id)
        if rg.status != "available":
            raise err["RGState"]("Replication group must be in available state to modify.")
        failover = self._get_bool_param("AutomaticFailoverEnabled")
        multi_az = self._get_bool_param("MultiAZEnabled")
        new_failover = (failover if failover is not None else rg.automatic_failover == "enabled")
        new_multi_az = (multi_az if multi_az is not None else rg.multi_az == "enabled")
        if new_failover and len(rg.member_clusters) < 2 and not rg.cluster_enabled:
            raise InvalidParameterCombinationException(
                "Automatic failover needs at least one replica (NumCacheClusters >= 2)."
            )
        if new_multi_az and not new_failover:
            raise InvalidParameterCombinationException("Multi-AZ requires AutomaticFailoverEnabled to be true.")
        rg.automatic_failover = "enabled" if new_failover else "disabled"
        rg.multi_az = "enabled" if new_multi_az else "disabled"
        if self._get_param("ReplicationGroupDescription") is not None:
            rg.description = self._get_param("ReplicationGroupDescription")
        if self._get_param("SnapshotRetentionLimit") is not None:
            rg.snapshot_retention_limit = self._get_int_param("SnapshotRetentionLimit")
        groups = self._get_param("SecurityGroupIds")
        if groups is not None:
            rg.security_group_ids = list(groups)
            for cluster in rg._cct_members:
                cluster.security_group_ids = list(groups)
        return ActionResult({"ReplicationGroup": rg})

    ElastiCacheResponse.modify_replication_group = modify_replication_group

    # -- DeleteCacheSubnetGroup (moto: not implemented) ---------------------------------
    # API_DeleteCacheSubnetGroup: "You cannot delete a default cache subnet group or one
    # that is associated with any clusters" -> CacheSubnetGroupInUse; an unknown name ->
    # CacheSubnetGroupNotFoundFault. A cluster that is still deleting still uses it.
    def delete_cache_subnet_group(self: Any, cache_subnet_group_name: str) -> Any:
        group = self.cache_subnet_groups.get(cache_subnet_group_name)
        if group is None:
            raise CacheSubnetGroupNotFound(cache_subnet_group_name)
        users = [rg.replication_group_id for rg in self.replication_groups.values()
                 if rg.cache_subnet_group_name == cache_subnet_group_name]
        users += [c.cache_cluster_id for c in self.cache_clusters.values()
                  if c.cache_subnet_group_name == cache_subnet_group_name and not c.replication_group_id]
        if users:
            raise err["InUse"](
                f"Cache subnet group {cache_subnet_group_name} is currently in use by a cache cluster ({', '.join(users)})."
            )
        del self.cache_subnet_groups[cache_subnet_group_name]
        self.tagging_service.delete_all_tags_for_resource(group.arn)
        return group

    Backend.delete_cache_subnet_group = delete_cache_subnet_group

    def delete_cache_subnet_group_response(self: Any) -> Any:
        self.elasticache_backend.delete_cache_subnet_group(self._get_param("CacheSubnetGroupName"))
        return EmptyResult()

    ElastiCacheResponse.delete_cache_subnet_group = delete_cache_subnet_group_response

    # -- tagging a group that is not available ---------------------------------------
    # AWS refuses tag operations, reads included, on a replication group that is not
    # available: "InvalidReplicationGroupState: Cluster not in available state to perform
    # tagging operations." (AddTagsToResource and ListTagsForResource, reported in
    # hashicorp/terraform-provider-aws#23219, #33859, #44811), and on a member cluster:
    # "Replication Group of <cluster> is not available." (#18625). Tags of a group or
    # cluster that does not exist are an error, not an empty list.
    def _check_taggable(backend: Any, arn: str) -> None:
        kind, _, name = arn.rpartition(":")
        kind = kind.rsplit(":", 1)[-1]
        if kind == "replicationgroup":
            rg = backend.replication_groups.get(name)
            if rg is None:
                raise ReplicationGroupNotFound(name)
            if rg.status != "available":
                raise err["RGState"]("Cluster not in available state to perform tagging operations.")
        elif kind == "cluster":
            cluster = backend.cache_clusters.get(name)
            if cluster is None:
                raise CacheClusterNotFound(name)
            rg = backend.replication_groups.get(cluster.replication_group_id or "")
            if rg is not None and rg.status != "available":
                raise err["RGState"](f"Replication Group of {name} is not available.")

    for name in ("list_tags_for_resource", "add_tags_to_resource", "remove_tags_from_resource"):
        original = getattr(Backend, name)

        def checked(self: Any, arn: str, *args: Any, _original: Callable[..., Any] = original) -> Any:
            _check_taggable(self, arn)
            return _original(self, arn, *args)

        setattr(Backend, name, checked)


def _sweep_elasticache(backend: Any, now: float) -> None:
    for rg in list(backend.replication_groups.values()):
        if not hasattr(rg, "_cct_since"):
            continue
        if rg.status == "creating" and now - rg._cct_since >= rg._cct_create_s:
            _set_group_status(rg, "available")
        elif rg.status == "deleting" and now - rg._cct_since >= rg._cct_delete_s:
            backend.replication_groups.pop(rg.replication_group_id, None)
            backend.tagging_service.delete_all_tags_for_resource(rg.arn)
            for cluster in rg._cct_members:
                backend.cache_clusters.pop(cluster.cache_cluster_id, None)
                backend.tagging_service.delete_all_tags_for_resource(cluster.arn)
    for cluster in list(backend.cache_clusters.values()):
        if cluster.replication_group_id or not hasattr(cluster, "_cct_since"):
            continue  # members follow their group
        if cluster.cache_cluster_status == "creating" and now - cluster._cct_since >= cluster._cct_create_s:
            cluster.cache_cluster_status = cluster.status = "available"
        elif cluster.cache_cluster_status == "deleting" and now - cluster._cct_since >= cluster._cct_delete_s:
            backend.cache_clusters.pop(cluster.cache_cluster_id, None)
            backend.tagging_service.delete_all_tags_for_resource(cluster.arn)


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


def _patch_lambda_and_ec2() -> None:
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
    return wanted


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
                eni._cct_unused_since, eni._cct_linger_s = now, _config["eniLingerSeconds"]
            if now - eni._cct_unused_since < eni._cct_linger_s:
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
        eni._cct_unused_since = None


# ---------------------------------------------------------------------------
# Lambda updates: RevisionId and LastUpdateStatus
# ---------------------------------------------------------------------------

_UPDATE_REASON = "The function is being created."
_REVISION_MISMATCH = (
    "The Revision Id provided does not match the latest Revision Id. "
    "Call the GetFunction/GetAlias API to retrieve the latest Revision Id"
)


def _lambda_errors() -> dict[str, type]:
    """Lambda's own error shape: HTTP status, an x-amzn-ErrorType header naming the error
    (which the SDKs read as the error's name) and a body {"Type": "User", "message": ...}
    (the Lambda API model gives every error these two members, message in lower case)."""
    from moto.awslambda.exceptions import LambdaClientError

    class _LambdaUserError(LambdaClientError):
        def __init__(self, error: str, message: str):
            super().__init__(error, message)
            self.description = json.dumps({"Type": "User", "message": message})

    class PreconditionFailed(_LambdaUserError):
        code = 412

        def __init__(self) -> None:
            super().__init__("PreconditionFailedException", _REVISION_MISMATCH)

    class UpdateInProgress(_LambdaUserError):
        code = 409

        def __init__(self, arn: str) -> None:
            super().__init__(
                "ResourceConflictException",
                f"The operation cannot be performed at this time. An update is in progress for resource: {arn}",
            )

    return {"Precondition": PreconditionFailed, "InProgress": UpdateInProgress}


def _revision(fn: Any) -> str:
    """A function's current RevisionId (moto has none; objects made before install get one here)."""
    if getattr(fn, "_cct_revision", None) is None:
        fn._cct_revision = str(uuid.uuid4())
    return fn._cct_revision


def _updating(fn: Any) -> bool:
    return getattr(fn, "_cct_update_status", "Successful") == "InProgress"


def _unqualified_arn(fn: Any) -> str:
    return f"arn:{fn.partition}:lambda:{fn.region}:{fn.account_id}:function:{fn.function_name}"


def _patch_lambda_updates() -> None:
    """RevisionId and LastUpdateStatus, which moto 5.2.1 lacks (no RevisionId on functions
    at all; LastUpdateStatus always Successful; the RevisionId parameter is ignored).

    AWS (API_UpdateFunctionConfiguration, API_UpdateFunctionCode, API_FunctionConfiguration):
    - Every function configuration carries a RevisionId, "the latest updated revision of
      the function", returned by CreateFunction, GetFunction (Configuration),
      GetFunctionConfiguration, ListFunctions and both updates. Each update makes a new one.
      Tags are not part of the configuration: TagResource/UntagResource leave it as is.
    - Given a RevisionId, an update happens "only if the revision ID matches the ID that's
      specified"; otherwise HTTP 412 PreconditionFailedException ("Call GetFunction or
      GetAlias to retrieve the latest RevisionId for your resource").
    - "When you update a function, Lambda provisions an instance of the function and its
      supporting resources. If your function connects to a VPC, this process can take a
      minute. During this time, you can't modify the function" - LastUpdateStatus is
      InProgress (with a LastUpdateStatusReason; LastUpdateStatusReasonCode only reports
      failures), then Successful. Meanwhile UpdateFunctionConfiguration, UpdateFunctionCode
      and PublishVersion fail with HTTP 409 ResourceConflictException "The operation cannot
      be performed at this time. An update is in progress for resource: <arn>" (Lambda
      developer guide, "Lambda function states"; widely reported, e.g.
      cloud-custodian/cloud-custodian#7010, Optum/dce#418 for PublishVersion). Other
      functions are not affected.
    - When the update completes the RevisionId changes once more, so the one an update
      returned is stale after waiting: re-read it (GetFunction) before the next
      conditional update (reported in aws/aws-sdk#377: update returns v2, the waiter
      then sees v3, and an update with v2 fails with PreconditionFailedException).

    Here the update takes lambdaUpdateSeconds (0 = Successful at once, one new RevisionId).
    """
    from moto.awslambda import models as lm

    err = _lambda_errors()
    LF = lm.LambdaFunction
    LB = lm.LambdaBackend

    orig_init = LF.__init__

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        orig_init(self, *args, **kwargs)
        self._cct_revision = str(uuid.uuid4())  # copies made of it (versions, answers) keep it

    LF.__init__ = __init__

    orig_get_configuration = LF.get_configuration

    def get_configuration(self: Any, on_create: bool = False) -> dict[str, Any]:
        config = orig_get_configuration(self, on_create)
        config["RevisionId"] = _revision(self)
        if "LastUpdateStatus" in config:  # moto leaves it out of CreateFunction's answer, as AWS does
            config["LastUpdateStatus"] = getattr(self, "_cct_update_status", "Successful")
            if _updating(self):
                config["LastUpdateStatusReason"] = _UPDATE_REASON
        return config

    LF.get_configuration = get_configuration

    def begin_update(backend: Any, function_name: str, qualifier: str | None, body: dict[str, Any]) -> Any:
        """Refuse an update AWS would refuse; return the function it would change."""
        fn = backend.get_function(function_name, qualifier)  # ResourceNotFoundException first
        if _updating(fn):
            raise err["InProgress"](_unqualified_arn(fn))
        wanted = body.get("RevisionId")
        if wanted and wanted != _revision(fn):
            raise err["Precondition"]()
        return fn

    def end_update(fn: Any, answer: Any) -> Any:
        """The update happened: a new revision, InProgress for lambdaUpdateSeconds."""
        fn._cct_revision = str(uuid.uuid4())
        fn._cct_update_since = _now()
        fn._cct_update_s = _config["lambdaUpdateSeconds"]
        fn._cct_update_status = "InProgress" if fn._cct_update_s > 0 else "Successful"
        if isinstance(answer, dict):
            for key in ("LastUpdateStatus", "LastUpdateStatusReason"):
                answer.pop(key, None)
            answer.update({k: v for k, v in fn.get_configuration().items()
                           if k in ("RevisionId", "LastUpdateStatus", "LastUpdateStatusReason")})
        return answer

    orig_update_configuration = LB.update_function_configuration
    orig_update_code = LB.update_function_code
    orig_publish = LB.publish_version

    def update_function_configuration(self: Any, function_name: str, qualifier: str, body: dict[str, Any]) -> Any:
        fn = begin_update(self, function_name, qualifier, body)
        return end_update(fn, orig_update_configuration(self, function_name, qualifier, body))

    def update_function_code(self: Any, function_name: str, qualifier: str, body: dict[str, Any]) -> Any:
        fn = begin_update(self, function_name, qualifier, body)
        answer = orig_update_code(self, function_name, qualifier, body)
        if body.get("DryRun"):
            return answer  # validated, nothing changed
        end_update(fn, None if body.get("Publish") else answer)  # with Publish, moto answers with the version
        return answer

    def publish_version(self: Any, function_name: str, description: str = "") -> Any:
        try:
            fn = self.get_function(function_name)
        except Exception:
            fn = None  # moto's own publish_version reports what is wrong
        if fn is not None and _updating(fn):
            raise err["InProgress"](_unqualified_arn(fn))
        version = orig_publish(self, function_name, description)
        # A new version is a copy of $LATEST; on AWS it has a RevisionId of its own.
        if version is not None and version is not fn and not getattr(version, "_cct_version_revision", False):
            version._cct_version_revision = True
            version._cct_revision = str(uuid.uuid4())
        return version

    LB.update_function_configuration = update_function_configuration
    LB.update_function_code = update_function_code
    LB.publish_version = publish_version


def _sweep_lambda_updates(backend: Any, now: float) -> None:
    """Finish the updates that are due: Successful, and (as on AWS) one more RevisionId."""
    for group in list(backend._lambdas._functions.values()):
        fn = group.get("latest")
        if fn is not None and _updating(fn) and now - fn._cct_update_since >= fn._cct_update_s:
            fn._cct_update_status = "Successful"
            fn._cct_revision = str(uuid.uuid4())


# ---------------------------------------------------------------------------
# Speed (not fidelity): every test resets moto, so reset must be cheap
# ---------------------------------------------------------------------------


def _patch_speed() -> None:
    """moto 5.2.1 looks up each request's access key in all six IAM partitions, which
    creates six IAM backends that each parse ~1500 AWS managed policies (~0.1 s apiece,
    paid again on every reset). Look only in partitions that exist, and parse the policy
    data once. Behaviour is unchanged: a partition never used holds no access keys."""
    import moto.iam.models as im

    def get_account_id_from(access_key: str) -> str:
        for account_id, account in list(dict.items(im.iam_backends)):
            for backend in list(dict.values(account)):
                if access_key in backend.access_keys:
                    return account_id
        return im.DEFAULT_ACCOUNT_ID

    im.get_account_id_from = get_account_id_from

    parsed: dict[str, Any] = {}

    def _init_aws_policies(self: Any) -> list[Any]:
        if not im.load_iam_aws_managed_policies():
            return []
        if not parsed:
            parsed.update(json.loads(im.aws_managed_policies_data))
        return [im.AWSManagedPolicy.from_data(name, self.account_id, self.region_name, d) for name, d in parsed.items()]

    im.IAMBackend._init_aws_policies = _init_aws_policies


# ---------------------------------------------------------------------------
# EC2 NAT gateways
# ---------------------------------------------------------------------------


def _patch_nat_gateways() -> None:
    """DeleteNatGateway: AWS detaches and deletes the gateway's network interface and
    disassociates (but does not release) its Elastic IP ("Delete a NAT gateway", Amazon
    VPC User Guide). moto keeps the interface, which would block the subnet's deletion
    forever under this module's DependencyViolation check."""
    from moto.ec2.models.nat_gateways import NatGatewayBackend

    original = NatGatewayBackend.delete_nat_gateway

    def delete_nat_gateway(self: Any, nat_gateway_id: str) -> Any:
        with _lock:
            nat = original(self, nat_gateway_id)
            eni = getattr(nat, "_eni", None)
            if eni is not None and eni.id in self.enis:
                for address in list(self.addresses):
                    if getattr(address, "eni", None) is eni:
                        address.eni = None
                        address.association_id = None
                self.enis.pop(eni.id, None)
            return nat

    NatGatewayBackend.delete_nat_gateway = delete_nat_gateway


# ---------------------------------------------------------------------------
# Sweep, WSGI middleware, install
# ---------------------------------------------------------------------------


def sweep() -> None:
    """Apply every time-based transition that is due. Call with _lock held."""
    from moto.awslambda.models import lambda_backends
    from moto.ec2.models import ec2_backends
    from moto.elasticache.models import elasticache_backends

    now = _now()
    for backend in _backends(elasticache_backends):
        _sweep_elasticache(backend, now)
    for backend in _backends(lambda_backends):
        _sweep_lambda_updates(backend, now)
    for ec2 in _backends(ec2_backends):
        _sweep_enis(ec2, now)


def _json_response(start_response: Any, status: str, body: Any) -> list[bytes]:
    data = json.dumps(body).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]


def wrap_app(app: Callable[..., Any]) -> Callable[..., Any]:
    """WSGI middleware: /cct-fidelity/* routes, and every moto request under the lock."""

    def middleware(environ: dict[str, Any], start_response: Any) -> Any:
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        if path.startswith("/cct-fidelity/"):
            with _lock:
                if path == "/cct-fidelity/config" and method == "POST":
                    try:
                        size = int(environ.get("CONTENT_LENGTH") or 0)
                        raw = json.loads(environ["wsgi.input"].read(size) or b"{}")
                        _config.update(normalize_config(raw))
                    except (ValueError, TypeError) as e:
                        return _json_response(start_response, "400 Bad Request", {"error": str(e)})
                    return _json_response(start_response, "200 OK", _config)
                if path == "/cct-fidelity/config":
                    return _json_response(start_response, "200 OK", _config)
                if path == "/cct-fidelity/reset" and method == "POST":
                    _config.clear()
                    _config.update(_startup)
                    return _json_response(start_response, "200 OK", _config)
            return _json_response(start_response, "404 Not Found", {"error": f"no route {method} {path}"})

        with _lock:
            sweep()
            result = app(environ, start_response)
            try:
                body = b"".join(result)
            finally:
                if hasattr(result, "close"):
                    result.close()
            if path == "/moto-api/reset" and method == "POST":
                _config.clear()
                _config.update(_startup)
            sweep()
        return [body]

    return middleware


def install(startup_config: dict[str, Any] | None = None) -> None:
    """Patch moto (once) and set the delays the server starts with (and resets to)."""
    global _installed
    settings = normalize_config(startup_config or {})
    _startup.clear()
    _startup.update(DEFAULTS)
    _startup.update(settings)
    _config.clear()
    _config.update(_startup)
    if not _installed:
        _patch_speed()
        _patch_elasticache()
        _patch_lambda_and_ec2()
        _patch_lambda_updates()
        _patch_nat_gateways()
        _installed = True
