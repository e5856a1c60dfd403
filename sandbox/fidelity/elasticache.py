"""ElastiCache lifecycles moto lacks: creating and deleting take time, member clusters, subnet groups in use, state errors."""

from __future__ import annotations

import copy
import uuid
from typing import Any, Callable

from . import core


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
            if status in ("creating", "create-failed"):
                holder.pop(key, None)
            elif key in saved:
                holder[key] = saved[key]
    for cluster in getattr(rg, "_cct_members", []):
        cluster.cache_cluster_status = cluster.status = status


def patch() -> None:
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

    _finish_cluster = _finish_cluster_fields

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
        cluster._cct_since = core.now()
        cluster._cct_create_s = core.config["replicationGroupCreateSeconds"]
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
        cluster._cct_since = core.now()
        cluster._cct_delete_s = core.config["replicationGroupDeleteSeconds"]
        _sweep_backend(self, core.now())
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
        rg._cct_member_args = {
            "subnet_group": group, "security_group_ids": list(kw.get("security_group_ids") or []),
            "tags": kw.get("tags"), "parameter_group": kw.get("cache_parameter_group_name"),
            "maintenance_window": kw.get("preferred_maintenance_window"), "auth_token": kw.get("auth_token"),
        }
        for ng in rg.node_groups:
            for member in ng["node_group_members"]:
                _add_member(self, rg, member)

        # AWS: CreateReplicationGroup returns status "creating"; the group becomes
        # "available" when its nodes are up (minutes on AWS, replicationGroupCreateSeconds here).
        # It can end in "create-failed" instead, when AWS cannot place its nodes, e.g.
        # InsufficientCacheClusterCapacity ("The requested cache node type is not
        # available in the specified Availability Zone", ElastiCache API errors; the group's
        # status list in API_ReplicationGroup includes create-failed). Such a group has no
        # endpoints, does not become available, and can only be deleted. Here: the switch
        # replicationGroupCreateFails, read when the group is created.
        rg._cct_since = core.now()
        rg._cct_create_s = core.config["replicationGroupCreateSeconds"]
        rg._cct_fails = bool(core.config.get("replicationGroupCreateFails"))
        _set_group_status(rg, "creating" if rg._cct_create_s > 0 else _created(rg))
        return rg

    orig_delete_rg = Backend.delete_replication_group

    def delete_replication_group(self: Any, replication_group_id: str, retain_primary_cluster: bool | None) -> Any:
        rg = self.replication_groups.get(replication_group_id)
        if rg is None:
            raise ReplicationGroupNotFound(replication_group_id)
        # AWS refuses while the group is not available, e.g. "Replication group X has
        # status deleting which is not valid for deletion." (InvalidReplicationGroupState)
        if rg.status not in ("available", "create-failed"):
            raise err["RGState"](
                f"Replication group {replication_group_id} has status {rg.status} which is not valid for deletion."
            )
        rg = orig_delete_rg(self, replication_group_id, retain_primary_cluster)
        _set_group_status(rg, "deleting")
        rg._cct_since = core.now()
        rg._cct_delete_s = core.config["replicationGroupDeleteSeconds"]
        _sweep_backend(self, core.now())  # delay 0: gone at once (the response still says deleting)
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

    # -- IncreaseReplicaCount / DecreaseReplicaCount (moto: not implemented) -------------
    # API_IncreaseReplicaCount, API_DecreaseReplicaCount (cluster mode disabled): only an
    # available group ("InvalidReplicationGroupState"); the group is "modifying" while
    # nodes are added or removed (replicationGroupCreateSeconds here), then available.
    # "The minimum number of replicas in a shard or replication group is: ... (cluster mode
    # disabled) If Multi-AZ is enabled: 1; If Multi-AZ is not enabled: 0" - and automatic
    # failover needs a replica (as ModifyReplicationGroup above): decreasing to 0 with
    # either on is refused (InvalidParameterCombination). At most 5 replicas.
    def _resize(self: Any, increase: bool) -> Any:
        backend = self.elasticache_backend
        rg_id = self._get_param("ReplicationGroupId")
        new = self._get_int_param("NewReplicaCount")
        rg = backend.replication_groups.get(rg_id)
        if rg is None:
            raise ReplicationGroupNotFound(rg_id)
        if rg.status != "available":
            raise err["RGState"](f"Replication group {rg_id} is not in available state (status: {rg.status}).")
        ng = rg.node_groups[0]
        members = ng["node_group_members"]
        current = len(members) - 1
        if new is None or new < 0 or new > 5 or (increase and new <= current) or (not increase and new >= current):
            raise InvalidParameterValueException(
                f"NewReplicaCount {new} must be {'more' if increase else 'fewer'} than the current {current} replicas (0-5).")
        if not increase and new == 0 and (rg.multi_az == "enabled" or rg.automatic_failover == "enabled"):
            raise InvalidParameterCombinationException(
                "The minimum number of replicas is 1 when Multi-AZ or automatic failover is enabled; "
                "disable them first (ModifyReplicationGroup).")
        if increase:
            domain = members[0]["read_endpoint"]["address"].split(".", 1)[1]
            zones = [m_.get("preferred_availability_zone") for m_ in members]
            for r in range(current + 1, new + 1):
                cid = f"{rg_id}-{r + 1:0>3}"
                member = {"cache_cluster_id": cid, "cache_node_id": ng["node_group_id"],
                          "read_endpoint": {"address": f"{cid}.{domain}", "port": rg.port},
                          "preferred_availability_zone": zones[r % len(zones)], "current_role": "replica"}
                members.append(member)
                rg.member_clusters.append(cid)
                _add_member(backend, rg, member)
        else:
            for member in [m_ for m_ in members if m_.get("current_role") == "replica"][new - current:]:
                members.remove(member)
                rg.member_clusters.remove(member["cache_cluster_id"])
                cluster = backend.cache_clusters.pop(member["cache_cluster_id"], None)
                if cluster is not None:
                    rg._cct_members.remove(cluster)
                    backend.tagging_service.delete_all_tags_for_resource(cluster.arn)
        rg._cct_since = core.now()
        rg._cct_modify_s = core.config["replicationGroupCreateSeconds"]
        if rg._cct_modify_s > 0:
            _set_group_status(rg, "modifying")
        return ActionResult({"ReplicationGroup": rg})

    ElastiCacheResponse.increase_replica_count = lambda self: _resize(self, True)
    ElastiCacheResponse.decrease_replica_count = lambda self: _resize(self, False)

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


def _add_member(backend: Any, rg: Any, member: dict[str, Any]) -> Any:
    """The cache cluster AWS makes for one member of a replication group."""
    from moto.elasticache import models as m

    args = rg._cct_member_args
    cluster = m.CacheCluster(
        account_id=backend.account_id, region_name=backend.region_name,
        cache_cluster_id=member["cache_cluster_id"], cache_node_type=rg.cache_node_type,
        replication_group_id=rg.replication_group_id, az_mode=None,
        preferred_availability_zone=member.get("preferred_availability_zone"),
        num_cache_nodes=1, engine=rg.engine, engine_version=rg.engine_version,
        cache_parameter_group_name=args["parameter_group"],
        cache_subnet_group_name=args["subnet_group"], transit_encryption_enabled=rg.transit_encryption_enabled,
        network_type=rg.network_type, ip_discovery=rg.ip_discovery, snapshot_name=None,
        preferred_maintenance_window=args["maintenance_window"], port=rg.port,
        notification_topic_arn=None, auto_minor_version_upgrade=True,
        snapshot_retention_limit=rg.snapshot_retention_limit, snapshot_window=rg.snapshot_window,
        auth_token=args["auth_token"], outpost_mode=None, preferred_outpost_arn=None,
        preferred_availability_zones=None, cache_security_group_names=None,
        security_group_ids=list(args["security_group_ids"]), tags=None, snapshot_arns=None,
        preferred_outpost_arns=None, log_delivery_configurations=[],
        cache_node_ids_to_remove=None, cache_node_ids_to_reboot=None,
    )
    cluster.at_rest_encryption_enabled = rg.at_rest_encryption_enabled
    cluster._cct_address = (member.get("read_endpoint") or {}).get("address") or ""
    _finish_cluster_fields(cluster, rg.replication_group_id)
    if args["tags"]:
        backend.tagging_service.tag_resource(cluster.arn, args["tags"])
    backend.cache_clusters[cluster.cache_cluster_id] = cluster
    rg._cct_members.append(cluster)
    return cluster


def _finish_cluster_fields(cluster: Any, replication_group_id: str | None) -> None:
    # moto sets ReplicationGroupId and NumCacheNodes only when engine == "redis", so
    # valkey clusters lose them; AWS reports both for every engine.
    cluster.replication_group_id = replication_group_id
    cluster.num_cache_nodes = getattr(cluster, "num_cache_nodes", None) or 1
    cluster.engine_version = cluster.engine_version or _DEFAULT_ENGINE_VERSION.get(cluster.engine)
    if not hasattr(cluster, "_cct_address"):
        cluster._cct_address = f"{cluster.cache_cluster_id}.{uuid.uuid4().hex[:6]}.0001.use1.cache.amazonaws.com"


def _created(rg: Any) -> str:
    """What a group becomes when its creation ends."""
    return "create-failed" if getattr(rg, "_cct_fails", False) else "available"


def sweep(now: float) -> None:
    from moto.elasticache.models import elasticache_backends

    for backend in core.backends(elasticache_backends):
        _sweep_backend(backend, now)


def _sweep_backend(backend: Any, now: float) -> None:
    for rg in list(backend.replication_groups.values()):
        if not hasattr(rg, "_cct_since"):
            continue
        if rg.status == "creating" and now - rg._cct_since >= rg._cct_create_s:
            _set_group_status(rg, _created(rg))
        elif (
            rg.status == "modifying"
            and not getattr(rg, "_cct_resharding", False)  # elasticache_shards.py ends its own
            and now - rg._cct_since >= getattr(rg, "_cct_modify_s", 0)
        ):
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
