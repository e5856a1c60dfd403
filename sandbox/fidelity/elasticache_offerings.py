"""What ElastiCache offers: engine versions and node types, which moto neither lists nor checks.

AWS (API_DescribeCacheEngineVersions): "Returns a list of the available cache engines and
their versions", filtered by Engine, EngineVersion, CacheParameterGroupFamily and
DefaultOnly, in pages of MaxRecords with Marker. An engine version that does not exist is
no error there: the list is empty. (API_DescribeReservedCacheNodesOfferings): "Lists
available reserved cache node offerings", filtered by CacheNodeType, Duration,
ProductDescription, OfferingType; every node type a region has can be reserved, so an
empty answer for a node type means the region does not offer it. moto 5.2.1 implements
neither action.

CreateReplicationGroup on AWS refuses a node type the region does not offer
(InvalidParameterValue) and an engine version that does not exist
(InvalidParameterCombination: "Cannot find version ... for ..."); moto accepts any string
and creates the group. Both refusals are modelled here (the messages are AWS's in shape).

Catalogue: the versions ElastiCache lists today (Redis OSS 4.0.10 to 7.1, Valkey 7.2 to
8.1; ElastiCache User Guide, "Supported engines and versions") and the current-generation
node types of the API reference (CacheNode) and "Supported node types", in every region
(the sandbox has no per-region availability). The previous generation (T1, M1, M2, M3, R3,
C1, and T2, which "you can no longer create new clusters with") is not offered.
"""

from __future__ import annotations

import uuid
from typing import Any

ENGINE_VERSIONS: dict[str, list[tuple[str, str]]] = {
    # engine: [(version, parameter group family)], oldest first; the last is the default.
    "redis": [("4.0.10", "redis4.0"), ("5.0.6", "redis5.0"), ("6.0", "redis6.x"), ("6.2", "redis6.x"), ("7.0", "redis7"), ("7.1", "redis7")],
    "valkey": [("7.2", "valkey7"), ("8.0", "valkey8"), ("8.1", "valkey8")],
}
DEFAULT_VERSION = {"redis": "7.1", "valkey": "8.0"}

_SIZES_T = ["micro", "small", "medium"]
_SIZES_G = ["large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge"]
NODE_TYPES: list[str] = (
    [f"cache.{f}.{s}" for f in ("t4g", "t3") for s in _SIZES_T]
    + [f"cache.{f}.{s}" for f in ("m7g", "m6g", "r7g", "r6g", "c7gn") for s in _SIZES_G]
    + [f"cache.{f}.{s}" for f in ("m5", "r5") for s in ["large", "xlarge", "2xlarge", "4xlarge", "12xlarge", "24xlarge"]]
    + [f"cache.m4.{s}" for s in ["large", "xlarge", "2xlarge", "4xlarge", "10xlarge"]]
    + [f"cache.r4.{s}" for s in ["large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "16xlarge"]]
    + [f"cache.r6gd.{s}" for s in ["xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge"]]
)
PRODUCTS = ("redis", "valkey", "memcached")


def _offering(node_type: str, product: str, years: int) -> dict[str, Any]:
    return {
        "ReservedCacheNodesOfferingId": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{node_type}/{product}/{years}")),
        "CacheNodeType": node_type,
        "Duration": years * 31_536_000,
        "FixedPrice": 0.0,
        "UsagePrice": 0.0,
        "ProductDescription": product,
        "OfferingType": "No Upfront",
        "RecurringCharges": [],
    }


def _page(items: list[Any], marker: str | None, max_records: int | None) -> tuple[list[Any], str | None]:
    start = int(marker) if marker and marker.isdigit() else 0
    size = max(20, min(100, max_records or 100))
    end = start + size
    return items[start:end], (str(end) if end < len(items) else None)


def patch() -> None:
    from moto.core.responses import ActionResult
    from moto.elasticache import models as m
    from moto.elasticache.exceptions import InvalidParameterCombinationException, InvalidParameterValueException
    from moto.elasticache.responses import ElastiCacheResponse

    def describe_cache_engine_versions(self: Any) -> Any:
        engine = self._get_param("Engine")
        version = self._get_param("EngineVersion")
        family = self._get_param("CacheParameterGroupFamily")
        default_only = self._get_bool_param("DefaultOnly")
        rows = []
        for name, versions in ENGINE_VERSIONS.items():
            if engine and engine != name:
                continue
            for v, fam in versions:
                if version and version != v or family and family != fam:
                    continue
                if default_only and v != DEFAULT_VERSION[name]:
                    continue
                rows.append({
                    "Engine": name,
                    "EngineVersion": v,
                    "CacheParameterGroupFamily": fam,
                    "CacheEngineDescription": "Redis" if name == "redis" else "Valkey",
                    "CacheEngineVersionDescription": f"{name} version {v}",
                })
        page, marker = _page(rows, self._get_param("Marker"), self._get_int_param("MaxRecords"))
        return ActionResult({"CacheEngineVersions": page, **({"Marker": marker} if marker else {})})

    def describe_reserved_cache_nodes_offerings(self: Any) -> Any:
        node_type = self._get_param("CacheNodeType")
        product = self._get_param("ProductDescription")
        duration = self._get_param("Duration")
        rows = [
            _offering(t, p, y)
            for t in NODE_TYPES
            for p in PRODUCTS
            for y in (1, 3)
            if (not node_type or node_type == t) and (not product or product == p) and (not duration or str(duration) in (str(y), str(y * 31_536_000)))
        ]
        page, marker = _page(rows, self._get_param("Marker"), self._get_int_param("MaxRecords"))
        return ActionResult({"ReservedCacheNodesOfferings": page, **({"Marker": marker} if marker else {})})

    ElastiCacheResponse.describe_cache_engine_versions = describe_cache_engine_versions
    ElastiCacheResponse.describe_reserved_cache_nodes_offerings = describe_reserved_cache_nodes_offerings

    Backend = m.ElastiCacheBackend
    orig_create_rg = Backend.create_replication_group

    def create_replication_group(self: Any, **kw: Any) -> Any:
        engine = (kw.get("engine") or "redis").lower()
        node_type = kw.get("cache_node_type")
        if node_type not in NODE_TYPES:
            raise InvalidParameterValueException(f"Invalid cache node type: {node_type}")
        version = kw.get("engine_version")
        known = [v for v, _ in ENGINE_VERSIONS.get(engine, [])]
        major = version[:-2] if version and version.endswith(".x") else None
        if version and version not in known and not (major and any(v.split(".")[0] == major for v in known)):
            raise InvalidParameterCombinationException(f"Cannot find version {version} for {engine}")
        return orig_create_rg(self, **kw)

    Backend.create_replication_group = create_replication_group
