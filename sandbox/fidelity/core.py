"""State every fidelity module shares: the delay settings, the one request lock, the clock."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

DEFAULTS: dict[str, Any] = {
    "replicationGroupCreateSeconds": 0.0,
    "replicationGroupDeleteSeconds": 0.0,
    "eniLingerSeconds": 0.0,
    "lambdaUpdateSeconds": 0.0,
    # How long a NAT gateway stays "deleting" after DeleteNatGateway (nat.py).
    "natGatewayDeleteSeconds": 0.0,
    # How long a warm Lambda container may sit idle before it is reaped (invoke.py).
    "containerIdleSeconds": 300.0,
    # How often AWS/ElastiCache metrics are read from redis INFO and published (caches.py);
    # ElastiCache publishes every 60 seconds.
    "metricsPeriodSeconds": 60.0,
    # Whether GetProducts answers AccessDeniedException, as it does for a caller whose
    # policies lack pricing:GetProducts (pricing.py). A switch, not seconds.
    "pricingAccessDenied": False,
    # Comma-separated function names whose configuration updates end LastUpdateStatus
    # Failed (reason code SubnetOutOfIPAddresses) instead of Successful (lambda_updates.py).
    "lambdaUpdatesFail": "",
    # Whether a replication group created from now on ends in create-failed
    # (InsufficientCacheClusterCapacity) instead of available (elasticache.py). A switch.
    "replicationGroupCreateFails": False,
    # How long a serverless cache stays creating, modifying and deleting (elasticache_serverless.py).
    "serverlessCacheCreateSeconds": 0.0,
    "serverlessCacheModifySeconds": 0.0,
    "serverlessCacheDeleteSeconds": 0.0,
    # Lambda's control-plane rate limits per account and Region, requests per second; above
    # them TooManyRequestsException (lambda_throttle.py). 0 = no limit, like every setting here
    # off until asked for: the demo's sandbox (cli.ts) and the tests about throttling ask for
    # AWS's 15 and 100; the other tests' own direct calls do not retry.
    "lambdaControlPlaneRate": 0.0,
    "lambdaGetFunctionRate": 0.0,
}
# Settings that are switches (true/false) rather than seconds.
SWITCHES = {"pricingAccessDenied", "replicationGroupCreateFails"}
# Settings that are text.
TEXTS = {"lambdaUpdatesFail"}
# Settings that are rates (requests per second) rather than seconds.
RATES = {"lambdaControlPlaneRate", "lambdaGetFunctionRate"}
_SNAKE = {
    "replication_group_create_seconds": "replicationGroupCreateSeconds",
    "replication_group_delete_seconds": "replicationGroupDeleteSeconds",
    "eni_linger_seconds": "eniLingerSeconds",
    "lambda_update_seconds": "lambdaUpdateSeconds",
    "nat_gateway_delete_seconds": "natGatewayDeleteSeconds",
    "container_idle_seconds": "containerIdleSeconds",
    "metrics_period_seconds": "metricsPeriodSeconds",
    "pricing_access_denied": "pricingAccessDenied",
    "lambda_updates_fail": "lambdaUpdatesFail",
    "replication_group_create_fails": "replicationGroupCreateFails",
    "serverless_cache_create_seconds": "serverlessCacheCreateSeconds",
    "serverless_cache_modify_seconds": "serverlessCacheModifySeconds",
    "serverless_cache_delete_seconds": "serverlessCacheDeleteSeconds",
    "lambda_control_plane_rate": "lambdaControlPlaneRate",
    "lambda_get_function_rate": "lambdaGetFunctionRate",
}

startup: dict[str, Any] = dict(DEFAULTS)
config: dict[str, Any] = dict(DEFAULTS)
# One lock for every request: moto itself is not thread-safe, and the sweep walks dicts
# that request handlers mutate.
lock = threading.RLock()


def normalize_config(raw: dict[str, Any]) -> dict[str, Any]:
    """Validate a (partial) config in camelCase or snake_case; raise ValueError if bad."""
    out: dict[str, Any] = {}
    for key, value in raw.items():
        name = _SNAKE.get(key, key)
        if name not in DEFAULTS:
            raise ValueError(f"unknown fidelity setting {key!r}; known: {', '.join(DEFAULTS)}")
        if name in SWITCHES:
            if not isinstance(value, bool):
                raise ValueError(f"{key} must be true or false, got {value!r}")
            out[name] = value
            continue
        if name in TEXTS:
            if not isinstance(value, str):
                raise ValueError(f"{key} must be text, got {value!r}")
            out[name] = value
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            unit = "requests per second" if name in RATES else "seconds"
            raise ValueError(f"{key} must be a number of {unit} >= 0, got {value!r}")
        out[name] = float(value)
    return out


def now() -> float:
    return time.monotonic()


def backends(backend_dict: Any) -> list[Any]:
    """Every instantiated (account, region) backend, without creating new ones."""
    found = []
    for account in list(dict.values(backend_dict)):
        found.extend(list(dict.values(account)))
    return found




def body_of(result: Any) -> bytes:
    """A WSGI answer's whole body, the iterable closed as PEP 3333 asks of whoever
    consumes it."""
    try:
        return b"".join(result)
    finally:
        if hasattr(result, "close"):
            result.close()


def json_response(start_response: Any, status: str, body: Any) -> list[bytes]:
    data = json.dumps(body).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]


def put_metric(
    account_id: str,
    region: str,
    namespace: str,
    name: str,
    dimensions: dict[str, str],
    value: float,
    unit: str = "None",
    timestamp: Any = None,
) -> None:
    """Publish one datapoint as the AWS service itself would (PutMetricData would refuse the
    AWS/ namespaces on real AWS; the sandbox plays the service here). Call with `lock` held."""
    import datetime

    from moto.cloudwatch.models import cloudwatch_backends

    when = timestamp or datetime.datetime.now(datetime.timezone.utc)
    if when.tzinfo is not None:
        # moto keeps datapoints as naive UTC (what PutMetricData stores) and compares them
        # with naive query times: an aware one makes GetMetricStatistics fail with a 500.
        when = when.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    cloudwatch_backends[account_id][region].put_metric_data(
        namespace,
        [
            {
                "MetricName": name,
                "Dimensions": [{"Name": k, "Value": v} for k, v in dimensions.items()],
                "Value": float(value),
                "Unit": unit,
                "Timestamp": when,
            }
        ],
    )
