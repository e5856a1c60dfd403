"""DeleteNatGateway removes the gateway's network interface, as AWS does."""

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
            eni = getattr(nat, "_eni", None)
            if eni is not None and eni.id in self.enis:
                for address in list(self.addresses):
                    if getattr(address, "eni", None) is eni:
                        address.eni = None
                        address.association_id = None
                self.enis.pop(eni.id, None)
            return nat

    NatGatewayBackend.delete_nat_gateway = delete_nat_gateway
