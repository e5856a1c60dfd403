"""DeleteNatGateway removes the gateway's network interface, takes time, and keeps its Elastic IP until it is done, as AWS does."""

from __future__ import annotations

from typing import Any

from . import core


# ---------------------------------------------------------------------------
# EC2 NAT gateways
# ---------------------------------------------------------------------------


def patch() -> None:
    """DeleteNatGateway: AWS detaches and deletes the gateway's network interface and
    disassociates (but does not release) its Elastic IP ("Delete a NAT gateway", Amazon
    VPC User Guide). moto keeps the interface, which would block the subnet's deletion
    forever under this module's DependencyViolation check."""
    from moto.ec2.models.nat_gateways import NatGatewayBackend

    original = NatGatewayBackend.delete_nat_gateway

    def delete_nat_gateway(self: Any, nat_gateway_id: str) -> Any:
        with core.lock:
            nat = original(self, nat_gateway_id)
            # "deleting" for natGatewayDeleteSeconds, then "deleted" (sweep).
            nat._cct_since, nat._cct_delete_s = core.now(), core.config["natGatewayDeleteSeconds"]
            if nat._cct_delete_s > 0:
                nat.state = "deleting"
            eni = getattr(nat, "_eni", None)
            if eni is not None and eni.id in self.enis:
                for address in list(self.addresses):
                    if getattr(address, "eni", None) is eni:
                        address.eni = None
                        address.association_id = None
                self.enis.pop(eni.id, None)
            return nat

    NatGatewayBackend.delete_nat_gateway = delete_nat_gateway


def _patch_release() -> None:
    """ReleaseAddress of an Elastic IP a NAT gateway still holds (any state but deleted or
    failed) fails: "InvalidIPAddress.InUse: The specified IP address is currently in use"
    (EC2 API error codes); the gateway lets it go once it is deleted ("Delete a NAT gateway":
    the Elastic IP is disassociated, not released). moto releases it at once."""
    from moto.ec2.exceptions import EC2ClientError
    from moto.ec2.models.elastic_ip_addresses import ElasticAddressBackend

    original = ElasticAddressBackend.release_address

    def release_address(self: Any, address: str | None = None, allocation_id: str | None = None) -> None:
        for nat in getattr(self, "nat_gateways", {}).values():
            if nat.state in ("deleted", "failed"):
                continue
            if allocation_id and any(a.get("allocationId") == allocation_id or a.get("AllocationId") == allocation_id
                                     for a in nat.address_set):
                raise EC2ClientError("InvalidIPAddress.InUse", f"The specified IP address is currently in use by {nat.id}.")
        return original(self, address=address, allocation_id=allocation_id)

    ElasticAddressBackend.release_address = release_address


_orig_patch = patch


def patch() -> None:  # noqa: F811 - both parts
    _orig_patch()
    _patch_release()


def sweep(now: float) -> None:
    from moto.ec2.models import ec2_backends

    for ec2 in core.backends(ec2_backends):
        for nat in list(getattr(ec2, "nat_gateways", {}).values()):
            if nat.state == "deleting" and now - getattr(nat, "_cct_since", now) >= getattr(nat, "_cct_delete_s", 0):
                nat.state = "deleted"
