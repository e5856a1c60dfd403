"""ElastiCache Serverless, which moto 5.2.1 lacks entirely.

What AWS does (ElastiCache API Reference: CreateServerlessCache, DescribeServerlessCaches,
ModifyServerlessCache, DeleteServerlessCache, the ServerlessCache data type; User Guide
"Creating a serverless cache", "Serverless cache endpoints"):

- CreateServerlessCache: ServerlessCacheName (stored lowercase; 1-40 letters, digits or
  hyphens, starting with a letter, no two hyphens in a row, not ending in one), Engine
  (valkey, redis; memcached is not modelled: refused), MajorEngineVersion (default the
  newest: valkey 8, redis 7), SubnetIds (one VPC; "Select at least two subnets" in different
  Availability Zones, up to three here), SecurityGroupIds (in that VPC), CacheUsageLimits
  {DataStorage {Maximum, Minimum, Unit GB}, ECPUPerSecond {Maximum, Minimum}} (storage
  1-5000 GB, ECPUs 1000-15000000 per second, minimum not above maximum), Tags.
  The answer says `creating`; the cache is `available` later (serverlessCacheCreateSeconds
  here), and only then has its Endpoint (port 6379) and ReaderEndpoint (port 6380).
  Errors: ServerlessCacheAlreadyExistsFault (the name is taken, deleting caches included),
  InvalidParameterValue, InvalidSubnet, InvalidParameterCombination.
- In-transit encryption is always on and cannot be turned off, and the cache behaves as a
  cluster (cluster mode enabled: "clients must use cluster mode"; CLUSTER SLOTS answers the
  endpoint itself for every slot). Here: caches.py runs one TLS redis cluster node holding
  all 16384 slots, announcing the endpoint name; network.py routes the endpoint from
  functions in its VPC whose security groups the cache's groups admit on 6379 (and 6380
  for the reader endpoint, which the same node serves).
- ModifyServerlessCache (Description, CacheUsageLimits, SecurityGroupIds, ...): only an
  `available` cache, `modifying` for serverlessCacheModifySeconds. DeleteServerlessCache:
  only `available` or `create-failed` (InvalidServerlessCacheStateFault otherwise),
  `deleting` for serverlessCacheDeleteSeconds, then gone (ServerlessCacheNotFoundFault).
- ElastiCache places a VPC endpoint (one network interface per subnet, with the cache's
  security groups) in the subnets: lambda_vpc.py makes those ENIs, so the subnets and groups
  cannot be deleted before the cache is gone, as on AWS.
- Tags live on arn:aws:elasticache:<region>:<account>:serverlesscache:<name>.
- Metrics (User Guide "Serverless metrics and events"): AWS/ElastiCache with the dimension
  clusterId = the cache's name (caches.py).
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from . import core

_NAME = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
_MAJOR = {"valkey": ["7", "8"], "redis": ["7"]}
_FULL = {"valkey": {"7": "7.2", "8": "8.0"}, "redis": {"7": "7.1"}}
PORT = 6379
READER_PORT = 6380


class ServerlessCache:
    """One serverless cache. Also what caches.py reads of a group it runs nodes for (the same
    attribute names as moto's replication group): one cluster-mode node group, TLS."""

    serverless = True
    cluster_enabled = True
    transit_encryption_enabled = True
    port = PORT
    _cct_members: list[Any] = []

    def __init__(self, backend: Any, name: str, engine: str, major: str, subnets: list[Any], groups: list[str],
                 limits: dict[str, Any] | None, description: str):
        self.account_id = backend.account_id
        self.region = backend.region_name
        self.name = name
        self.replication_group_id = name
        self.engine = engine
        self.major = major
        self.description = description
        self.subnet_ids = [s.id for s in subnets]
        self.vpc_id = subnets[0].vpc_id
        self.security_group_ids = groups
        self.limits = limits
        self.status = "creating"
        import datetime

        self.create_time = datetime.datetime.now(datetime.timezone.utc)
        short = "".join(p if i != 1 else p[0] for i, p in enumerate(backend.region_name.split("-")))
        self.address = f"{name}-{uuid.uuid4().hex[:6]}.serverless.{short}.cache.amazonaws.com"
        self.arn = f"arn:aws:elasticache:{backend.region_name}:{backend.account_id}:serverlesscache:{name}"
        self._cct_since = core.now()
        self._cct_wait = 0.0
        # What caches.py needs to run it as a one-node cluster that announces the endpoint.
        self.configuration_endpoint = {"address": self.address, "port": PORT}
        self._cct_node_hostname = self.address
        self.node_groups = [{"node_group_id": "0001", "slots": "0-16383", "status": "available",
                             "node_group_members": [{"cache_cluster_id": name, "current_role": "primary"}]}]

    def shape(self) -> dict[str, Any]:
        """The ServerlessCache data type, as DescribeServerlessCaches answers it."""
        out: dict[str, Any] = {
            "ServerlessCacheName": self.name, "Description": self.description, "CreateTime": self.create_time,
            "Status": self.status, "Engine": self.engine, "MajorEngineVersion": self.major,
            "FullEngineVersion": _FULL[self.engine][self.major], "SecurityGroupIds": list(self.security_group_ids),
            "ARN": self.arn, "SubnetIds": list(self.subnet_ids), "SnapshotRetentionLimit": 0,
            "DailySnapshotTime": "00:00",
        }
        if self.limits:
            out["CacheUsageLimits"] = self.limits
        # No endpoints until the cache is up.
        if self.status not in ("creating", "create-failed"):
            out["Endpoint"] = {"Address": self.address, "Port": PORT}
            out["ReaderEndpoint"] = {"Address": self.address, "Port": READER_PORT}
        return out


def caches_of(backend: Any) -> dict[str, ServerlessCache]:
    """The serverless caches of one moto ElastiCache backend (kept on it, so a reset clears them)."""
    found = getattr(backend, "_cct_serverless", None)
    if found is None:
        found = backend._cct_serverless = {}
    return found


def all_caches(account_id: str, region: str) -> list[ServerlessCache]:
    from moto.elasticache.models import elasticache_backends

    backend = dict.get(dict.get(elasticache_backends, account_id) or {}, region)
    return list(caches_of(backend).values()) if backend is not None else []


def _errors() -> dict[str, type]:
    from moto.elasticache.exceptions import ElastiCacheException

    def fault(code: str) -> type:
        return type(code, (ElastiCacheException,), {"code": code})

    return {name: fault(name) for name in (
        "ServerlessCacheAlreadyExistsFault", "ServerlessCacheNotFoundFault", "InvalidServerlessCacheStateFault",
        "InvalidSubnet", "InvalidParameterValue", "InvalidParameterCombination")}


def _limits(raw: Any, err: dict[str, type]) -> dict[str, Any] | None:
    """CacheUsageLimits checked as AWS checks them (ranges from the CloudFormation and CDK
    references: storage 1-5000 GB, ECPUs 1000-15000000 per second)."""
    if not raw:
        return None
    out: dict[str, Any] = {}
    storage = raw.get("DataStorage")
    if storage:
        if storage.get("Unit") != "GB":
            raise err["InvalidParameterValue"]("DataStorage Unit must be GB.")
        lo, hi = storage.get("Minimum"), storage.get("Maximum")
        for v in (lo, hi):
            if v is not None and not 1 <= int(v) <= 5000:
                raise err["InvalidParameterValue"](f"DataStorage {v} GB is outside 1-5000 GB.")
        if lo is not None and hi is not None and int(lo) > int(hi):
            raise err["InvalidParameterCombination"]("DataStorage Minimum cannot be more than Maximum.")
        out["DataStorage"] = {k: (int(v) if k != "Unit" else v) for k, v in storage.items()}
    ecpu = raw.get("ECPUPerSecond")
    if ecpu:
        lo, hi = ecpu.get("Minimum"), ecpu.get("Maximum")
        for v in (lo, hi):
            if v is not None and not 1000 <= int(v) <= 15_000_000:
                raise err["InvalidParameterValue"](f"ECPUPerSecond {v} is outside 1000-15000000.")
        if lo is not None and hi is not None and int(lo) > int(hi):
            raise err["InvalidParameterCombination"]("ECPUPerSecond Minimum cannot be more than Maximum.")
        out["ECPUPerSecond"] = {k: int(v) for k, v in ecpu.items()}
    return out


def patch() -> None:
    from moto.core.responses import ActionResult
    from moto.ec2.models import ec2_backends
    from moto.elasticache import models as m
    from moto.elasticache.responses import ElastiCacheResponse

    err = _errors()

    # Tags of a serverless cache (moto's ARN check knows only its own resource kinds).
    m.ElastiCacheBackend.arn_regex = property(lambda self: re.compile(
        r"^arn:aws:elasticache:.*:[0-9]*:(cluster|snapshot|subnetgroup|replicationgroup|user|serverlesscache):.*$"),
        lambda self, value: None)

    def find(backend: Any, name: str | None) -> ServerlessCache:
        cache = caches_of(backend).get((name or "").lower())
        if cache is None:
            raise err["ServerlessCacheNotFoundFault"](f"Serverless cache {name} not found.")
        return cache

    def create(self: Any) -> Any:
        backend = self.elasticache_backend
        p = self._get_params()
        name = (p.get("ServerlessCacheName") or "").lower()
        if not _NAME.match(name) or len(name) > 40:
            raise err["InvalidParameterValue"](
                "ServerlessCacheName must be 1-40 letters, digits or hyphens, start with a letter, "
                "and have no two consecutive hyphens nor end with one.")
        if name in caches_of(backend):
            raise err["ServerlessCacheAlreadyExistsFault"](f"Serverless cache {name} already exists.")
        engine = (p.get("Engine") or "").lower()
        if engine not in _MAJOR:
            raise err["InvalidParameterValue"](
                f"Engine {p.get('Engine')!r} is not valid: use valkey or redis (cct sandbox: memcached is not modelled).")
        major = str(p.get("MajorEngineVersion") or _MAJOR[engine][-1])
        if major not in _MAJOR[engine]:
            raise err["InvalidParameterValue"](
                f"MajorEngineVersion {major} is not available for {engine}: {', '.join(_MAJOR[engine])}.")
        ec2 = ec2_backends[backend.account_id][backend.region_name]
        subnet_ids = list(p.get("SubnetIds") or [])
        if not subnet_ids:
            raise err["InvalidParameterValue"]("cct sandbox: a serverless cache in the default VPC is not modelled; "
                                               "pass SubnetIds.")
        subnets = []
        for sid in subnet_ids:
            try:
                subnets.append(ec2.get_subnet(sid))
            except Exception:
                raise err["InvalidSubnet"](f"Subnet {sid} is invalid.") from None
        if len({s.vpc_id for s in subnets}) > 1:
            raise err["InvalidParameterValue"]("All the subnets must belong to the same VPC.")
        zones = {s.availability_zone for s in subnets}
        if len(subnets) < 2 or len(zones) < 2 or len(subnets) > 3:
            raise err["InvalidParameterValue"](
                "A serverless cache needs two or three subnets in different Availability Zones.")
        groups = list(p.get("SecurityGroupIds") or [])
        for gid in groups:
            try:
                group = ec2.get_security_group_from_id(gid)
            except Exception:
                group = None
            if group is None or group.vpc_id != subnets[0].vpc_id:
                raise err["InvalidParameterValue"](f"Security group {gid} is not in the subnets' VPC.")
        limits = _limits(p.get("CacheUsageLimits"), err)
        cache = ServerlessCache(backend, name, engine, major, subnets, groups, limits, p.get("Description") or "")
        cache._cct_wait = core.config["serverlessCacheCreateSeconds"]
        if cache._cct_wait <= 0:
            cache.status = "available"
        caches_of(backend)[name] = cache
        if p.get("Tags"):
            backend.tagging_service.tag_resource(cache.arn, p["Tags"])
        return ActionResult({"ServerlessCache": cache.shape()})

    def describe(self: Any) -> Any:
        backend = self.elasticache_backend
        name = self._get_param("ServerlessCacheName")
        found = [find(backend, name)] if name else list(caches_of(backend).values())
        return ActionResult({"ServerlessCaches": [c.shape() for c in found]})

    def modify(self: Any) -> Any:
        backend = self.elasticache_backend
        p = self._get_params()
        cache = find(backend, p.get("ServerlessCacheName"))
        if cache.status != "available":
            raise err["InvalidServerlessCacheStateFault"](
                f"Serverless cache {cache.name} is {cache.status}; it must be available to be modified.")
        modelled = {"ServerlessCacheName", "Description", "CacheUsageLimits", "SecurityGroupIds"}
        unsupported = sorted(k for k in p if k not in modelled)
        if unsupported:
            raise err["InvalidParameterValue"](f"cct sandbox: ModifyServerlessCache does not model {', '.join(unsupported)}")
        if "CacheUsageLimits" in p:
            cache.limits = _limits(p["CacheUsageLimits"], err)
        if "SecurityGroupIds" in p:
            cache.security_group_ids = list(p["SecurityGroupIds"] or [])
        if "Description" in p:
            cache.description = p["Description"]
        cache._cct_since, cache._cct_wait = core.now(), core.config["serverlessCacheModifySeconds"]
        if cache._cct_wait > 0:
            cache.status = "modifying"
        return ActionResult({"ServerlessCache": cache.shape()})

    def delete(self: Any) -> Any:
        backend = self.elasticache_backend
        cache = find(backend, self._get_param("ServerlessCacheName"))
        if cache.status not in ("available", "create-failed"):
            raise err["InvalidServerlessCacheStateFault"](
                f"Serverless cache {cache.name} is {cache.status}; it must be available to be deleted.")
        cache.status = "deleting"
        cache._cct_since, cache._cct_wait = core.now(), core.config["serverlessCacheDeleteSeconds"]
        shown = cache.shape()
        _sweep_backend(backend, core.now())
        return ActionResult({"ServerlessCache": shown})

    ElastiCacheResponse.create_serverless_cache = create
    ElastiCacheResponse.describe_serverless_caches = describe
    ElastiCacheResponse.modify_serverless_cache = modify
    ElastiCacheResponse.delete_serverless_cache = delete


def sweep(now: float) -> None:
    from moto.elasticache.models import elasticache_backends

    for backend in core.backends(elasticache_backends):
        _sweep_backend(backend, now)


def _sweep_backend(backend: Any, now: float) -> None:
    caches = caches_of(backend)
    for cache in list(caches.values()):
        if now - cache._cct_since < cache._cct_wait:
            continue
        if cache.status in ("creating", "modifying"):
            cache.status = "available"
        elif cache.status == "deleting":
            caches.pop(cache.name, None)
            backend.tagging_service.delete_all_tags_for_resource(cache.arn)
