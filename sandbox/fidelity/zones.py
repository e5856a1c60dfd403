"""Availability zone names map to zone ids per account, as on AWS."""

from __future__ import annotations

import copy
import hashlib
from typing import Any


# ---------------------------------------------------------------------------
# EC2 availability zones: name -> zone id per account
# ---------------------------------------------------------------------------
#
# AWS: "AZ IDs ... are the same across all accounts ... AZ names ... are mapped to AZ IDs
# independently for each account" ("AZ IDs for your AWS resources", AWS RAM User Guide;
# API_AvailabilityZone: ZoneName and ZoneId). us-east-1a in one account is not us-east-1a in
# another, so a choice by name ("the first two alphabetically") lands on different physical
# zones, among them use1-az3, which lacks current instance (and cache node) types.
# moto maps names to ids the same way in every account. Here each account gets its own
# fixed permutation: the region's zone ids ordered by sha256("<account>:<region>:<zone id>"),
# given the names in alphabetical order. For moto's default account 123456789012 in
# us-east-1 that is a->use1-az4, b->use1-az3, c->use1-az2, d->use1-az6, e->use1-az5, f->use1-az1.
# DescribeAvailabilityZones, a subnet's AvailabilityZoneId, CreateSubnet's
# AvailabilityZoneId and DescribeInstanceTypeOfferings by zone name follow the mapping.

_cache: dict[tuple[str, str], dict[str, str]] = {}


def mapping(account_id: str, region: str, zones: list[Any]) -> dict[str, str]:
    """Zone name -> zone id for one account."""
    key = (account_id, region)
    if key not in _cache:
        names = sorted(z.name for z in zones)
        ids = sorted((z.zone_id for z in zones),
                     key=lambda i: hashlib.sha256(f"{account_id}:{region}:{i}".encode()).hexdigest())
        _cache[key] = dict(zip(names, ids))
    return _cache[key]


def patch() -> None:
    from moto.ec2.models import availability_zones_and_regions as azr
    from moto.ec2.models import instance_types as it
    from moto.ec2.models.subnets import Subnet, SubnetBackend

    RB = azr.RegionsAndZonesBackend

    def zones_of(backend: Any) -> list[Any]:
        return RB.zones.get(backend.region_name, [])

    orig_describe = RB.describe_availability_zones

    def describe_availability_zones(self: Any, filters: Any = None, zone_names: Any = None, zone_ids: Any = None) -> Any:
        table = mapping(self.account_id, self.region_name, zones_of(self))
        out = []
        for zone in orig_describe(self, filters=None, zone_names=zone_names):
            mine = copy.copy(zone)
            mine.zone_id = table.get(zone.name, zone.zone_id)
            out.append(mine)
        if zone_ids:
            out = [z for z in out if z.zone_id in zone_ids]
        if filters:
            from moto.utilities.utils import filter_resources
            out = filter_resources(out, filters, (("zone-id", "zone_id"), ("zone-type", "zone_type"),
                                                  ("zone-name", "name"), ("region-name", "region_name"),
                                                  ("state", "state")))
        return out

    RB.describe_availability_zones = describe_availability_zones

    def availability_zone_id(self: Any) -> str:
        table = mapping(self.ec2_backend.account_id, self.ec2_backend.region_name, zones_of(self.ec2_backend))
        return table.get(self._availability_zone.name, self._availability_zone.zone_id)

    Subnet.availability_zone_id = property(availability_zone_id)

    orig_create_subnet = SubnetBackend.create_subnet

    def create_subnet(self: Any, *args: Any, **kwargs: Any) -> Any:
        wanted = kwargs.get("availability_zone_id")
        if wanted and not kwargs.get("availability_zone"):
            names = {v: k for k, v in mapping(self.account_id, self.region_name, zones_of(self)).items()}
            if wanted in names:
                kwargs["availability_zone"], kwargs["availability_zone_id"] = names[wanted], None
        return orig_create_subnet(self, *args, **kwargs)

    SubnetBackend.create_subnet = create_subnet

    # Offerings by zone name: moto's data is by the (account-independent) zone-id table's names.
    orig_offerings = it.InstanceTypeOfferingBackend.describe_instance_type_offerings

    def describe_instance_type_offerings(self: Any, location_type: str | None = None, filters: Any = None) -> Any:
        if location_type != "availability-zone":
            return orig_offerings(self, location_type, filters)
        table = mapping(self.account_id, self.region_name, zones_of(self))
        by_id = {v: k for k, v in table.items()}
        wanted_names = (filters or {}).get("location")
        rest = {k: v for k, v in (filters or {}).items() if k != "location"}
        out = []
        for o in orig_offerings(self, "availability-zone-id", rest):
            name = by_id.get(o["Location"])
            if name and (not wanted_names or name in wanted_names):
                out.append({**o, "Location": name, "LocationType": "availability-zone"})
        return out

    it.InstanceTypeOfferingBackend.describe_instance_type_offerings = describe_instance_type_offerings
