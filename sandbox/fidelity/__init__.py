"""cct's fidelity additions to moto 5.2.1 (a package: one module per behaviour).

moto is a good emulator, but cct's hardest code paths exist because real AWS is slow
and refuses things: clusters take minutes to create and to delete, a cache subnet group
cannot be deleted while a cluster uses it, Lambda's VPC network interfaces linger after a
function leaves the VPC and block deleting the subnets and security groups. moto 5.2.1
models none of that. This module patches moto's backends and response classes so the
local sandbox behaves like AWS where cct depends on it. Every addition below cites the
AWS documentation (or widely reported AWS behaviour) it models.

What it adds (each section below cites its source):
- ElastiCache: replication groups (and standalone clusters) are creating -> available
  and deleting -> gone after configurable delays; member clusters <group>-001... exist and
  report SecurityGroups, CacheSubnetGroupName and (ShowCacheNodeInfo) node endpoints;
  NumCacheClusters is honoured; DeleteCacheSubnetGroup (CacheSubnetGroupInUse) and
  ModifyReplicationGroup exist; state errors (InvalidReplicationGroupState) for delete,
  modify and tags of a group that is not available.
- Lambda/EC2: a VpcConfig is validated (subnets, groups, the role's EC2 permissions) and
  reports its real VpcId; service-managed ENIs appear for Lambda functions and cache nodes,
  Lambda's linger after use; ENIs (and group references) make DeleteSubnet and
  DeleteSecurityGroup fail with DependencyViolation; interface-type, requester-managed and
  status filters work on DescribeNetworkInterfaces.
- Lambda updates: every function has a RevisionId that changes with each update and is
  checked when a caller passes one (PreconditionFailedException); an update leaves the
  function LastUpdateStatus InProgress for a configurable time, during which another
  update or PublishVersion fails (ResourceConflictException).
- Speed: cheap resets (see speed.py).
- Pricing: the Price List API's GetProducts from a small catalogue (see pricing.py).
- ElastiCache offerings: DescribeCacheEngineVersions and DescribeReservedCacheNodesOfferings,
  and CreateReplicationGroup refusing a node type or engine version AWS does not offer
  (see elasticache_offerings.py).
- IAM: moto's authorization (when on) names CloudWatch actions `cloudwatch:`, covers Invoke and
  GetProducts, and lets the functions' own calls through (see iam_auth.py).
- Availability zones: names map to zone ids per account (see zones.py).
- Lambda limits: no layers on container images, 5 security groups, 4 KB of environment
  (see lambda_limits.py).
- ElastiCache Serverless: create, describe, modify and delete with their delays, run as a
  TLS cluster (see elasticache_serverless.py).
- Lambda control-plane rate limits: TooManyRequestsException (429, Retry-After) above
  15 requests/s (100 for GetFunction) per account and Region (see lambda_throttle.py).
- ElastiCache cluster mode: ModifyReplicationGroup ClusterMode disabled -> compatible ->
  enabled, the nodes replaced by cluster nodes holding the same keys (see
  elasticache_cluster_mode.py).
- EC2 client tokens: CreateRouteTable, CreateNatGateway and CreateVpcEndpoint repeated
  with the same ClientToken return the first result (see ec2_client_token.py).

Design:
- Nothing runs in the background. Time-based state ("creating" until t0 + N seconds) is
  stored as timestamps on moto's own model objects, and `sweep()` applies what is due.
  `wrap_app` runs every request under one lock with a sweep before it (so every read sees
  current state) and after it (so a change is timestamped when it happened).
- State lives on moto's objects, so POST /moto-api/reset clears it; the middleware also
  restores the delay settings the server was started with.
- `install()` applies the patches; importing this package does nothing.
- One module per behaviour. Each has `patch()` (applied once by install) and may have
  `sweep(now)` (time-based transitions, under the lock), `route(environ, start_response)`
  (a request it answers itself, outside the lock, or None) and `on_reset()`.

Run-time settings: GET/POST /cct-fidelity/config (JSON, camelCase or snake_case keys of
DEFAULTS), POST /cct-fidelity/reset (restore the start-up settings). GET /cct-fidelity/pid:
which process serves (the launcher checks that the server answering its port is the one it
started, not another sandbox's that took the port first).
"""

from __future__ import annotations

import json
import os
from types import ModuleType
from typing import Any, Callable

from . import core, elasticache, lambda_updates, lambda_vpc, nat, speed
from . import cloudwatch, invoke

# Order matters where patches wrap the same moto method: later modules wrap earlier ones.
MODULES: list[ModuleType] = [speed, elasticache, lambda_vpc, lambda_updates, nat, cloudwatch]
MODULES.append(invoke)
from . import caches, certs, edge, elasticache_serverless, elasticache_shards, network  # noqa: E402
# Serverless caches change state before caches.py's sweep looks for what to run.
MODULES += [certs, elasticache_serverless, caches, elasticache_shards, network, edge]
from . import pricing  # noqa: E402
MODULES.append(pricing)
from . import elasticache_offerings  # noqa: E402
MODULES.append(elasticache_offerings)
from . import iam_auth  # noqa: E402
MODULES.append(iam_auth)
from . import zones  # noqa: E402
MODULES.append(zones)
from . import lambda_limits  # noqa: E402
MODULES.append(lambda_limits)
from . import lambda_throttle  # noqa: E402
# First: a throttled request is refused before any other module or moto sees it.
MODULES.insert(0, lambda_throttle)
from . import ec2_client_token  # noqa: E402
MODULES.append(ec2_client_token)
from . import elasticache_cluster_mode  # noqa: E402
# After elasticache.py and elasticache_shards.py: it wraps their ModifyReplicationGroup and resharding.
MODULES.append(elasticache_cluster_mode)
_installed = False


def sweep() -> None:
    """Apply every time-based transition that is due. Call with core.lock held."""
    now = core.now()
    for module in MODULES:
        if hasattr(module, "sweep"):
            module.sweep(now)


def _config_route(environ: dict[str, Any], start_response: Any, path: str, method: str) -> list[bytes]:
    with core.lock:
        if path == "/cct-fidelity/config" and method == "POST":
            try:
                size = int(environ.get("CONTENT_LENGTH") or 0)
                raw = json.loads(environ["wsgi.input"].read(size) or b"{}")
                core.config.update(core.normalize_config(raw))
            except (ValueError, TypeError) as e:
                return core.json_response(start_response, "400 Bad Request", {"error": str(e)})
            return core.json_response(start_response, "200 OK", core.config)
        if path == "/cct-fidelity/config":
            return core.json_response(start_response, "200 OK", core.config)
        if path == "/cct-fidelity/reset" and method == "POST":
            _restore_startup()
            return core.json_response(start_response, "200 OK", core.config)
        if path == "/cct-fidelity/pid":
            return core.json_response(start_response, "200 OK", {"pid": os.getpid()})
    return core.json_response(start_response, "404 Not Found", {"error": f"no route {method} {path}"})


def _restore_startup() -> None:
    core.config.clear()
    core.config.update(core.startup)


def wrap_app(app: Callable[..., Any]) -> Callable[..., Any]:
    """WSGI middleware: /cct-fidelity/* routes, modules' own routes, and every moto
    request under the lock."""

    def middleware(environ: dict[str, Any], start_response: Any) -> Any:
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        if path.startswith("/cct-fidelity/config") or path in ("/cct-fidelity/reset", "/cct-fidelity/pid"):
            return _config_route(environ, start_response, path, method)
        for module in MODULES:
            route = getattr(module, "route", None)
            answer = route(environ, start_response) if route else None
            if answer is not None:
                return answer

        with core.lock:
            sweep()
            body = core.body_of(app(environ, start_response))
            if path == "/moto-api/reset" and method == "POST":
                _restore_startup()
                for module in MODULES:
                    if hasattr(module, "on_reset"):
                        module.on_reset()
            sweep()
        return [body]

    return middleware


def install(startup_config: dict[str, Any] | None = None) -> None:
    """Patch moto (once) and set the delays the server starts with (and resets to)."""
    global _installed
    settings = core.normalize_config(startup_config or {})
    core.startup.clear()
    core.startup.update(core.DEFAULTS)
    core.startup.update(settings)
    _restore_startup()
    if not _installed:
        for module in MODULES:
            module.patch()
        _installed = True
