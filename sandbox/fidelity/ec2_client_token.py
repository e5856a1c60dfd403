"""EC2 creates repeated with the same ClientToken return the first one's result, as AWS does; moto makes another."""

from __future__ import annotations

import importlib
import json
from typing import Any

# The creates cct sends with a ClientToken: (response module, class, method).
_CREATES = [
    ("moto.ec2.responses.route_tables", "RouteTables", "create_route_table"),
    ("moto.ec2.responses.nat_gateways", "NatGateways", "create_nat_gateway"),
    ("moto.ec2.responses.vpcs", "VPCs", "create_vpc_endpoint"),
]

# (account, region, action, token) -> (the request's other parameters, the first result)
_seen: dict[tuple[str, str, str, str], tuple[str, Any]] = {}


def patch() -> None:
    """"Ensuring idempotency in Amazon EC2 API requests" (Amazon EC2 Developer Guide): a
    request repeated with the same client token returns the result of the first and makes
    nothing new; the same token with different parameters fails with
    IdempotentParameterMismatch. CreateRouteTable, CreateNatGateway and CreateVpcEndpoint
    take one. moto 5.2.1 ignores it and makes a second resource, so the SDK's retry of a
    create whose reply was lost (a 5xx after the change) cannot be told from a new one."""
    from moto.ec2.exceptions import EC2ClientError

    for module, cls, method in _CREATES:
        klass = getattr(importlib.import_module(module), cls)

        def create(self: Any, _original: Any = getattr(klass, method), _method: str = method) -> Any:
            token = self._get_param("ClientToken")
            if not token:
                return _original(self)
            key = (self.current_account, self.region, _method, token)
            params = json.dumps({k: v for k, v in self.querystring.items() if k != "ClientToken"}, sort_keys=True)
            if key in _seen:
                first, result = _seen[key]
                if first != params:
                    raise EC2ClientError(
                        "IdempotentParameterMismatch",
                        "The client token you have provided is associated with a resource that is already deleted "
                        "or has different parameters.",
                    )
                return result
            result = _original(self)
            _seen[key] = (params, result)
            return result

        setattr(klass, method, create)


def on_reset() -> None:
    _seen.clear()
