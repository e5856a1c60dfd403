"""ModifyReplicationGroup ClusterMode: the one-way move of a group from cluster mode disabled to
enabled, which moto does not model (its ModifyReplicationGroup is elasticache.py's, without it).

AWS ("Modifying cluster mode", ElastiCache User Guide; API_ModifyReplicationGroup, ClusterMode):
- "To modify cluster mode from Disabled to Enabled, you must first set the cluster mode to
  Compatible. Compatible mode allows your Valkey or Redis OSS clients to connect using both
  cluster mode enabled and cluster mode disabled. After you migrate all ... clients to use
  cluster mode enabled, you can then complete cluster mode configuration and set the cluster
  mode to Enabled." "Reverting this configuration is not possible."
- Before the migration: keys in database 0 only; "Auto-failover must be enabled on the cluster
  with a minimum of 1 replica"; "The minimum engine version required for migration is Valkey
  7.2 and above, or Redis OSS 7.0 and above"; a parameter group with cluster-enabled yes ("If
  you are using a default parameter group, ElastiCache ... will automatically pick the
  corresponding default parameter group with a cluster-enabled configuration").
- "In compatible mode, other modification operations on the cluster such as scaling and engine
  version are not allowed. Also, parameters (excluding cacheParameterGroupName) cannot be
  modified when defining cluster-mode parameter in ModifyReplicationGroup request."
- Errors as ModifyReplicationGroup's: ReplicationGroupNotFoundFault, InvalidReplicationGroupState
  (not available), InvalidParameterCombination, InvalidParameterValue. Data tiering (r6gd)
  groups are refused here too: no document found says AWS moves them, none that it refuses
  (cct refuses them in its plan either way).

Here: the group is `modifying` for replicationGroupCreateSeconds (as replicas are added) and at
least until its data has moved. To compatible, each node is replaced by a cluster-enabled
redis-server holding the same keys (caches.convert_to_cluster: a redis-server cannot turn
cluster mode on at run time), then ClusterMode is compatible and the ConfigurationEndpoint
appears beside the primary endpoint, both served. To enabled: the primary and reader endpoints
go, ClusterEnabled is true and the one node group holds slots 0-16383; resharding
(elasticache_shards.py) then works on it. ModifyReplicationGroupShardConfiguration and the
other modifications are refused while compatible.
"""

from __future__ import annotations

import threading
from typing import Any

from . import caches, core

# Engine versions from which ElastiCache migrates (the user guide's minimums).
MIN_VERSION = {"redis": (7, 0), "valkey": (7, 2)}
_ALLOWED_WITH = {"ReplicationGroupId", "ApplyImmediately", "ClusterMode", "CacheParameterGroupName"}


def _version(text: str | None) -> tuple[int, ...]:
    return tuple(int(p) if p.isdigit() else 0 for p in (text or "0").split("."))


def current_mode(rg: Any) -> str:
    return (getattr(rg, "cluster_mode", None) or ("enabled" if rg.cluster_enabled else "disabled")).lower()


def patch() -> None:
    from moto.core.responses import ActionResult
    from moto.elasticache import models as m
    from moto.elasticache.exceptions import (ElastiCacheException, InvalidParameterCombinationException,
                                             InvalidParameterValueException, ReplicationGroupNotFound)
    from moto.elasticache.responses import ElastiCacheResponse

    from .elasticache_offerings import ENGINE_VERSIONS

    class InvalidReplicationGroupState(ElastiCacheException):
        code = "InvalidReplicationGroupState"

    # DescribeCacheClusters' CacheParameterGroup (moto stores only a name it was given): the
    # default group of the engine's family, ".cluster.on" once the group is in cluster mode.
    def parameter_group(cluster: Any) -> dict[str, str]:
        name = cluster.cache_parameter_group_name
        if not name:
            family = dict(ENGINE_VERSIONS.get(cluster.engine, [])).get(cluster.engine_version, cluster.engine)
            rg = _group_of(cluster)
            name = f"default.{family}" + (".cluster.on" if rg is not None and current_mode(rg) != "disabled" else "")
        return {"cache_parameter_group_name": name, "parameter_apply_status": "in-sync"}

    m.CacheCluster.cache_parameter_group = property(parameter_group)

    original_modify = ElastiCacheResponse.modify_replication_group
    original_shards = ElastiCacheResponse.modify_replication_group_shard_configuration

    def modify_replication_group(self: Any) -> Any:
        params = self._get_params()
        rg = self.elasticache_backend.replication_groups.get(self._get_param("ReplicationGroupId"))
        if "ClusterMode" not in params:
            if rg is not None and current_mode(rg) == "compatible":
                raise InvalidParameterCombinationException(
                    "In compatible mode, other modification operations on the cluster are not allowed; "
                    "set ClusterMode to enabled first.")
            return original_modify(self)
        rg_id = self._get_param("ReplicationGroupId")
        if rg is None:
            raise ReplicationGroupNotFound(rg_id)
        others = sorted(k for k in params if k not in _ALLOWED_WITH)
        if others:
            raise InvalidParameterCombinationException(
                f"No other parameter than CacheParameterGroupName can be modified with ClusterMode ({', '.join(others)}).")
        want = str(self._get_param("ClusterMode")).lower()
        if want not in ("enabled", "disabled", "compatible"):
            raise InvalidParameterValueException(f"Invalid ClusterMode {want}: use enabled, disabled or compatible.")
        if rg.status != "available":
            raise InvalidReplicationGroupState(
                f"Replication group {rg_id} is not in available state (status: {rg.status}).")
        has = current_mode(rg)
        if want == has:
            raise InvalidParameterValueException(f"Replication group {rg_id} is already in cluster mode {has}.")
        if want == "disabled":
            raise InvalidParameterCombinationException(
                "Cluster mode can only be changed from disabled to enabled; reverting it is not possible.")
        if want == "enabled" and has == "disabled":
            raise InvalidParameterCombinationException(
                "To modify cluster mode from disabled to enabled, first set the cluster mode to compatible.")
        if want == "compatible":
            _check_migratable(rg, self._get_param("CacheParameterGroupName"), InvalidParameterCombinationException)
            _begin(rg, _to_compatible, rg)
        else:
            _begin(rg, _to_enabled, rg)
        return ActionResult({"ReplicationGroup": rg})

    def modify_shards(self: Any) -> Any:
        rg = self.elasticache_backend.replication_groups.get(self._get_param("ReplicationGroupId"))
        if rg is not None and current_mode(rg) == "compatible":
            raise InvalidParameterCombinationException(
                "Scaling is not allowed in compatible mode: set ClusterMode to enabled first.")
        return original_shards(self)

    ElastiCacheResponse.modify_replication_group = modify_replication_group
    ElastiCacheResponse.modify_replication_group_shard_configuration = modify_shards


def _group_of(cluster: Any) -> Any:
    from moto.elasticache.models import elasticache_backends

    try:
        backend = elasticache_backends[cluster.account_id][cluster.region_name]
    except (KeyError, AttributeError):
        return None
    return backend.replication_groups.get(cluster.replication_group_id or "")


def _check_migratable(rg: Any, parameter_group: str | None, refuse: Any) -> None:
    engine = (rg.engine or "redis").lower()
    minimum = MIN_VERSION.get(engine, (99,))
    if _version(rg.engine_version) < minimum:
        raise refuse(
            f"Cluster mode can be modified only for {engine} {'.'.join(map(str, minimum))} and above "
            f"(this group runs {rg.engine_version}).")
    replicas = len(rg.node_groups[0]["node_group_members"]) - 1 if rg.node_groups else 0
    if rg.automatic_failover != "enabled" or replicas < 1:
        raise refuse("Auto-failover must be enabled on the cluster with a minimum of 1 replica to modify cluster mode.")
    if getattr(rg, "data_tiering", "disabled") == "enabled":
        raise refuse("Cluster mode cannot be modified for a replication group with data tiering.")
    custom = [c.cache_parameter_group_name for c in getattr(rg, "_cct_members", []) if c.cache_parameter_group_name]
    if custom and not parameter_group:
        raise refuse(
            f"The parameter group {custom[0]} is not a default one: give CacheParameterGroupName, "
            "a parameter group with cluster-enabled yes.")


def _begin(rg: Any, work: Any, *args: Any) -> None:
    """`modifying` until `work` (a thread: nodes start and data moves outside the lock) ends and
    the delay has passed."""
    from .elasticache import _set_group_status

    _set_group_status(rg, "modifying")
    rg._cct_resharding = True  # elasticache.py's sweep does not end it, caches.py's starts no node
    rg._cct_since = core.now()
    rg._cct_modify_s = core.config["replicationGroupCreateSeconds"]
    threading.Thread(target=work, args=args, name=f"cct-cluster-mode-{rg.replication_group_id}", daemon=True).start()


def _finish(rg: Any) -> None:
    """Hand the group back to elasticache.py's sweep, which makes it available once the delay is over."""
    rg._cct_resharding = False


def _to_compatible(rg: Any) -> None:
    with core.lock:
        rg._cct_cluster_nodes = True
        rg.node_groups[0]["slots"] = f"0-{caches.SLOTS - 1}"
        domain = rg.node_groups[0]["primary_endpoint"]["address"].split(".", 1)[1]
    try:
        caches.convert_to_cluster(rg)
    except Exception as e:  # the group stays in cluster mode disabled, as after a failed AWS modification
        print(f"cct sandbox: cluster mode of {rg.replication_group_id}: {e!r}", flush=True)
        with core.lock:
            rg._cct_cluster_nodes = False
            _finish(rg)
        return
    with core.lock:
        rg.cluster_mode = "compatible"
        rg.configuration_endpoint = {"address": f"clustercfg.{domain}", "port": rg.port}
        _finish(rg)


def _to_enabled(rg: Any) -> None:
    with core.lock:
        rg.cluster_mode = "enabled"
        rg.cluster_enabled = True
        ng = rg.node_groups[0]
        # A cluster-mode-enabled group has only its configuration endpoint.
        for key in ("primary_endpoint", "reader_endpoint", "primary_endpoint_address", "reader_endpoint_address"):
            ng.pop(key, None)
            ng.get("_cct_saved", {}).pop(key, None)
        _finish(rg)
