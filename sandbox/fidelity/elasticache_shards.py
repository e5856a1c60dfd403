"""Sharded replication groups (cluster mode enabled): what moto lacks or gets wrong.

- CreateReplicationGroup with NumNodeGroups > 1 (or NodeGroupConfiguration with several
  groups) makes a cluster-mode-enabled group: AWS "Creating a Valkey or Redis OSS
  (cluster mode enabled) cluster": each node group (shard) holds a range of the 16384
  slots, the group has a ConfigurationEndpoint (clustercfg.<group>.<id>.<region>.cache.
  amazonaws.com) and no primary/reader endpoint per shard, and ClusterEnabled is true.
  moto models that only when ClusterMode=enabled is passed (else it builds several
  disabled-mode node groups whose members all share the id <group>-001), deals slots
  that leave part of the 16384 uncovered for 2 or 4+ shards, and gives members no role.
  Here: NumNodeGroups > 1 turns cluster mode on, slots are dealt evenly (as
  `redis-cli --cluster create` and AWS do), members get CurrentRole, and each member
  cluster's node its endpoint <member id>.<group domain> (DescribeCacheClusters with
  ShowCacheNodeInfo).
- ModifyReplicationGroupShardConfiguration (moto: not implemented), "Scaling clusters in
  Valkey or Redis OSS (cluster mode enabled)", online resharding: fewer shards with
  NodeGroupsToRemove or NodeGroupsToRetain; the group is `modifying` while the removed
  shards' slots move, in contiguous ranges, to those that stay (caches.reshard_remove, keys
  stay readable), then `available` with the node groups and their member clusters gone.
  More shards (scale out): new node groups, numbered on, each with as many nodes as the
  smallest existing one ("Online resharding ... for Valkey or Redis OSS (cluster mode
  enabled)"), their member clusters listed at once; the group is `modifying` while their
  nodes start, join the cluster and take their even share of the slots from the top of the
  existing groups' ranges (caches.reshard_add, keys stay readable), then `available`.
  Errors as documented:
  ReplicationGroupNotFoundFault, InvalidReplicationGroupState (not available),
  InvalidParameterValue (ApplyImmediately must be true; a count below 1 or equal to the
  current one; a node group that is not the group's; a ReshardingConfiguration that does not
  have one entry per node group), InvalidParameterCombination (not cluster mode; fewer shards
  without NodeGroupsToRemove/NodeGroupsToRetain; those with more shards;
  ReshardingConfiguration with fewer), NodeGroupsPerReplicationGroupQuotaExceeded (more
  than 500 node groups or nodes).
"""

from __future__ import annotations

import threading
from typing import Any

from . import caches, core

SLOTS = caches.SLOTS
# Nodes (and so node groups) in one replication group: 500 for Valkey 7.2+ and Redis OSS 5.0.6+
# ("Working with shards in ElastiCache"), the only engines the sandbox offers.
MAX_NODES = 500


def even_slots(shards: int) -> list[str]:
    """The slot ranges of `shards` node groups, dealt as redis-cli --cluster create deals them."""
    return [f"{i * SLOTS // shards}-{(i + 1) * SLOTS // shards - 1}" for i in range(shards)]


def patch() -> None:
    from moto.core.responses import ActionResult
    from moto.elasticache import models as m
    from moto.elasticache.exceptions import (ElastiCacheException, InvalidParameterCombinationException,
                                             InvalidParameterValueException, ReplicationGroupNotFound)
    from moto.elasticache.responses import ElastiCacheResponse

    class InvalidReplicationGroupState(ElastiCacheException):
        code = "InvalidReplicationGroupState"

    class NodeGroupsPerReplicationGroupQuotaExceeded(ElastiCacheException):
        code = "NodeGroupsPerReplicationGroupQuotaExceeded"

    Backend = m.ElastiCacheBackend
    original_create = Backend.create_replication_group

    def create_replication_group(self: Any, **kw: Any) -> Any:
        configs = list(kw.get("node_group_configuration") or [])
        shards = kw.get("num_node_groups") or len(configs) or 1
        sharded = shards > 1 or (kw.get("cluster_mode") or "").lower() == "enabled"
        if sharded:
            kw["cluster_mode"] = "enabled"
            kw["num_node_groups"] = shards
            # Even slots for every node group that does not name its own.
            by_id = {c.get("NodeGroupId"): c for c in configs if c.get("NodeGroupId")}
            for i, slots in enumerate(even_slots(shards)):
                ng_id = f"{i + 1:04d}"
                config = by_id.get(ng_id)
                if config is None:
                    config = {"NodeGroupId": ng_id}
                    if kw.get("replicas_per_node_group") is not None:
                        config["ReplicaCount"] = kw["replicas_per_node_group"]
                    configs.append(config)
                config.setdefault("Slots", slots)
            kw["node_group_configuration"] = configs
        rg = original_create(self, **kw)
        if rg.cluster_enabled:
            domain = caches._cluster_domain(rg)
            members = {c.cache_cluster_id: c for c in getattr(rg, "_cct_members", [])}
            for ng in rg.node_groups:
                for i, member in enumerate(ng["node_group_members"]):
                    member["current_role"] = "primary" if i == 0 else "replica"
                    cluster = members.get(member["cache_cluster_id"]) or self.cache_clusters.get(
                        member["cache_cluster_id"])
                    if cluster is not None:
                        cluster._cct_address = f"{member['cache_cluster_id']}.{domain}"
        return rg

    Backend.create_replication_group = create_replication_group

    def modify_shard_configuration(self: Any) -> Any:
        backend = self.elasticache_backend
        rg_id = self._get_param("ReplicationGroupId")
        rg = backend.replication_groups.get(rg_id)
        if rg is None:
            raise ReplicationGroupNotFound(rg_id)
        if not self._get_bool_param("ApplyImmediately"):
            raise InvalidParameterValueException("ApplyImmediately must be true: resharding is applied immediately.")
        count = self._get_int_param("NodeGroupCount")
        if count is None or count < 1:
            raise InvalidParameterValueException("NodeGroupCount must be at least 1.")
        if not rg.cluster_enabled:
            raise InvalidParameterCombinationException(
                f"Replication group {rg_id} is not in cluster mode: its shard configuration cannot be modified.")
        if rg.status != "available":
            raise InvalidReplicationGroupState(
                f"Replication group {rg_id} is not in available state (status: {rg.status}).")
        current = [ng["node_group_id"] for ng in rg.node_groups]
        remove = list(self._get_param("NodeGroupsToRemove") or [])
        retain = list(self._get_param("NodeGroupsToRetain") or [])
        unknown = [ng for ng in remove + retain if ng not in current]
        if unknown:
            raise InvalidParameterValueException(
                f"Node group {unknown[0]} is not part of replication group {rg_id}.")
        resharding = list(self._get_param("ReshardingConfiguration") or [])
        if count > len(current):
            if remove or retain:
                raise InvalidParameterCombinationException(
                    "NodeGroupsToRemove and NodeGroupsToRetain apply only when NodeGroupCount is less than the "
                    "current number of node groups.")
            if resharding and len(resharding) != count:
                raise InvalidParameterValueException(
                    f"ReshardingConfiguration must have one entry per node group ({count}), got {len(resharding)}.")
            nodes = count * min(len(ng["node_group_members"]) for ng in rg.node_groups)
            if count > MAX_NODES or nodes > MAX_NODES:
                raise NodeGroupsPerReplicationGroupQuotaExceeded(
                    f"The request would make {count} node groups of {nodes} nodes in {rg_id}; "
                    f"a replication group has at most {MAX_NODES}.")
            added = _add_node_groups(backend, rg, count, resharding)
            _begin(rg, _grow, rg, added)
            return ActionResult({"ReplicationGroup": rg})
        if resharding:
            raise InvalidParameterCombinationException(
                "ReshardingConfiguration can be specified only when NodeGroupCount is greater than the current "
                "number of node groups.")
        if count == len(current):
            raise InvalidParameterValueException(
                f"Replication group {rg_id} already has {count} node groups.")
        if not remove and not retain:
            raise InvalidParameterCombinationException(
                "Either NodeGroupsToRemove or NodeGroupsToRetain is required when NodeGroupCount is "
                "less than the current number of node groups.")
        if retain:
            remove = [ng for ng in current if ng not in retain]
        if len(current) - len(remove) != count:
            raise InvalidParameterValueException(
                f"NodeGroupCount {count} does not match the node groups left ({len(current) - len(remove)}).")
        _begin(rg, _reshard, backend, rg, remove)
        return ActionResult({"ReplicationGroup": rg})

    ElastiCacheResponse.modify_replication_group_shard_configuration = modify_shard_configuration


def _begin(rg: Any, work: Any, *args: Any) -> None:
    """The group is `modifying` until `work` (a thread: the slots move outside the lock) ends it."""
    rg.status = "modifying"
    # Until the slots have moved: the timed "modifying" of elasticache.py's sweep is not ours.
    rg._cct_resharding = True
    for ng in rg.node_groups:
        ng["status"] = "modifying"
    threading.Thread(target=work, args=args, name=f"cct-reshard-{rg.replication_group_id}", daemon=True).start()


def _add_node_groups(backend: Any, rg: Any, count: int, resharding: list[dict[str, Any]]) -> list[str]:
    """The node groups a scale-out adds, numbered on from the highest, with no slots yet. "If
    you add one or more shards ..., the number of nodes in each new shard is the same as the
    number of nodes in the smallest of the existing shards"; their zones are the
    ReshardingConfiguration's, else the existing members' in turn (ElastiCache chooses)."""
    from .elasticache import _add_member

    size = min(len(ng["node_group_members"]) for ng in rg.node_groups)
    zones = [m.get("preferred_availability_zone") for ng in rg.node_groups for m in ng["node_group_members"]]
    zones = [z for z in zones if z] or [None]
    domain = caches._cluster_domain(rg)
    last = max(int(ng["node_group_id"]) for ng in rg.node_groups)
    has = len(rg.node_groups)
    added = []
    for i in range(count - has):
        ng_id = f"{last + i + 1:04d}"
        # One entry per resulting node group: the new ones are the last.
        wanted = (resharding[has + i].get("PreferredAvailabilityZones") or []) if resharding else []
        members = []
        for r in range(size):
            cid = f"{rg.replication_group_id}-{ng_id}-{r + 1:03d}"
            members.append({"cache_cluster_id": cid, "cache_node_id": ng_id,
                            "preferred_availability_zone": wanted[r] if r < len(wanted) else zones[(i + r) % len(zones)],
                            "current_role": "primary" if r == 0 else "replica"})
        rg.node_groups.append({"node_group_id": ng_id, "status": "modifying", "slots": "",
                               "node_group_members": members})
        for member in members:
            rg.member_clusters.append(member["cache_cluster_id"])
            cluster = _add_member(backend, rg, member)
            cluster._cct_address = f"{member['cache_cluster_id']}.{domain}"
            cluster.cache_cluster_status = cluster.status = "modifying"
        added.append(ng_id)
    return added


def _grow(rg: Any, added: list[str]) -> None:
    """Start the new shards' nodes and move their share of the slots to them (outside the lock)."""
    slots: dict[str, str] = {}
    try:
        caches.reshard_add(rg, added, slots)
    except Exception as e:  # the slots moved so far stay moved, as after an interrupted AWS scale-out
        print(f"cct sandbox: adding shards to {rg.replication_group_id}: {e!r}", flush=True)
    with core.lock:
        for ng in rg.node_groups:
            ng["slots"] = slots.get(ng["node_group_id"], ng.get("slots"))
        rg.status = "available"
        rg._cct_resharding = False
        for ng in rg.node_groups:
            ng["status"] = "available"
        for cluster in getattr(rg, "_cct_members", []):
            cluster.cache_cluster_status = cluster.status = "available"


def _reshard(backend: Any, rg: Any, remove: list[str]) -> None:
    """Move the slots (outside the lock: reads and writes go on), then drop the node groups."""
    try:
        slots = caches.reshard_remove(rg, remove)
    except Exception as e:  # the group stays as it was, available, as after a failed AWS modification
        print(f"cct sandbox: resharding {rg.replication_group_id}: {e!r}", flush=True)
        slots = None
    with core.lock:
        if slots is not None:
            gone = {m["cache_cluster_id"] for ng in rg.node_groups if ng["node_group_id"] in remove
                    for m in ng["node_group_members"]}
            rg.node_groups = [ng for ng in rg.node_groups if ng["node_group_id"] not in remove]
            for ng in rg.node_groups:
                ng["slots"] = slots.get(ng["node_group_id"], ng.get("slots"))
            rg.member_clusters = [c for c in rg.member_clusters if c not in gone]
            rg._cct_members = [c for c in getattr(rg, "_cct_members", []) if c.cache_cluster_id not in gone]
            for cluster_id in gone:
                cluster = backend.cache_clusters.pop(cluster_id, None)
                if cluster is not None:
                    backend.tagging_service.delete_all_tags_for_resource(cluster.arn)
        rg.status = "available"
        rg._cct_resharding = False
        for ng in rg.node_groups:
            ng["status"] = "available"
