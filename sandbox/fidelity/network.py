"""What a function can reach follows its VpcConfig, security groups and route tables, as on AWS.

`function_network(account_id, region, fn_config)` computes the network table the runtime
hooks (sandbox/runtime/*/network.*) apply inside a container (format in sandbox/README.md):

    {"hosts":       {name: virtual ip},        what the VPC's DNS answers
     "suffixes":    {".amazonaws.com": ip},    a name not in hosts, by longest suffix
     "defaultHost": internet virtual ip,       any other name
     "routes":      {"vip:port": "127.0.0.1:real"},  only what the function can reach
     "tarpit":      "127.0.0.1:p"}             where anything else goes: never answered

Virtual addresses (127.77.0.0/16, nothing listens on them): 127.77.0.2 DynamoDB,
127.77.0.3 S3, 127.77.0.4 the internet, 127.77.0.5 any other AWS service, 127.77.0.16+
one per well-known AWS service endpoint, 127.77.1.1+ one per cache node (a primary or
reader endpoint name resolves to its node's address, as those names are DNS CNAMEs to a
node on AWS: "Finding connection endpoints", ElastiCache User Guide).

Rules (Amazon VPC User Guide and Lambda Developer Guide, "Giving Lambda functions access to
resources in an Amazon VPC"):
- A function outside a VPC has the internet and every AWS public endpoint, and no cache
  (ElastiCache nodes have private addresses only).
- A function in a VPC "does not have access to the internet" nor to AWS public endpoints,
  except: DynamoDB and S3 through a *gateway endpoint* whose route tables include the
  table of the function's subnet (the subnet's explicit association, else the VPC's main
  route table: "Configure route tables"), state available; anything through a route
  0.0.0.0/0 to an available NAT gateway that itself sits in a subnet routed to an internet
  gateway attached to the VPC ("NAT gateways"); an AWS service through an interface
  endpoint with private DNS in the VPC whose security group admits the function on 443.
  An internet gateway route on the function's own subnet does not help: Lambda's network
  interfaces have no public address ("Internet access for VPC functions").
- A cache node: the function's subnets are in the cache's VPC, one of the cache's security
  groups has an inbound rule for the port (TCP or all traffic) whose source is one of the
  function's groups or a CIDR covering the function's subnet, and one of the function's
  groups allows that traffic outbound (to the cache group or a CIDR covering the cache's
  subnets) - security groups are stateful, so the reply needs no rule ("Security group
  rules"). Lambda may place an invocation in any of its subnets, so every subnet must pass.
- Security groups' egress is checked for 443/80 to AWS and the internet too.

Everything not routed goes to the tarpit: a listener whose accept queue is full, so the
kernel drops the SYN and the connection hangs until the caller's timeout, as a packet
dropped by a security group or a missing route does on AWS.
"""

from __future__ import annotations

import io
import ipaddress
import socket
import threading
from typing import Any

from . import caches, core

DYNAMODB_IP = "127.77.0.2"
S3_IP = "127.77.0.3"
INTERNET_IP = "127.77.0.4"
AWS_IP = "127.77.0.5"

# Endpoints the AWS SDKs use by default ("Service endpoints", AWS General Reference).
_SERVICES = ("logs", "monitoring", "sts", "lambda", "sqs", "sns", "ssm", "secretsmanager", "kms", "events",
             "elasticache", "ec2", "xray", "states", "cloudformation", "apigateway", "firehose", "kinesis",
             "ssmmessages")
_vips: dict[tuple[str, str, str], str] = {}
_service_vips: dict[str, str] = {}
_tarpit: dict[str, Any] = {}
_tarpit_lock = threading.Lock()


def patch() -> None:
    tarpit()


# -- the tarpit ------------------------------------------------------------------------------

def tarpit() -> str:
    """127.0.0.1:port of a listener whose accept queue is full: Linux drops a SYN to a
    listener with a full accept queue (it never answers, so the client retries until it
    gives up), which is what a connection to an unreachable address looks like."""
    with _tarpit_lock:
        if "addr" in _tarpit:
            return _tarpit["addr"]
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        fillers = []
        # Fill the queue: connections that complete the handshake and are never accepted.
        for _ in range(4):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            s.connect_ex(("127.0.0.1", port))
            fillers.append(s)
        _tarpit.update(addr=f"127.0.0.1:{port}", listener=listener, fillers=fillers)
        return _tarpit["addr"]


# -- virtual addresses -------------------------------------------------------------------------

def _node_vip(account: str, region: str, node_id: str) -> str:
    key = (account, region, node_id)
    if key not in _vips:
        n = len(_vips)
        _vips[key] = f"127.77.{1 + n // 250}.{1 + n % 250}"
    return _vips[key]


def _service_vip(name: str) -> str:
    if name not in _service_vips:
        _service_vips[name] = f"127.77.0.{16 + len(_service_vips)}"
    return _service_vips[name]


# -- reading the VPC --------------------------------------------------------------------------

def _vpc_config(fn_config: Any) -> tuple[list[str], list[str]]:
    if isinstance(fn_config, dict):
        cfg = fn_config.get("VpcConfig") or {}
    else:  # a moto LambdaFunction
        cfg = getattr(fn_config, "_vpc_config", None) or {}
    return list(cfg.get("SubnetIds") or []), list(cfg.get("SecurityGroupIds") or [])


def _route_table(ec2: Any, subnet: Any) -> Any:
    main = None
    for rt in list(ec2.route_tables.values()):
        if rt.vpc_id != subnet.vpc_id:
            continue
        if subnet.id in rt._associations.values():
            return rt
        if rt.main_association_id is not None:
            main = rt
    return main


def _routes_to(rt: Any, cidr: str) -> list[Any]:
    return [r for r in rt.routes if r.destination_cidr_block == cidr] if rt is not None else []


def _nat_path(ec2: Any, rt: Any) -> bool:
    """0.0.0.0/0 -> an available NAT gateway in a subnet whose table routes 0.0.0.0/0 to an
    internet gateway attached to the VPC."""
    for r in _routes_to(rt, "0.0.0.0/0"):
        nat = r.nat_gateway
        if nat is None or getattr(nat, "state", "") != "available":
            continue
        nat_subnet = _subnet(ec2, nat.subnet_id)
        if nat_subnet is None:
            continue
        for r2 in _routes_to(_route_table(ec2, nat_subnet), "0.0.0.0/0"):
            igw = r2.gateway
            gid = getattr(igw, "id", "") or ""
            if gid.startswith("igw-") and getattr(getattr(igw, "vpc", None), "id", None) == nat_subnet.vpc_id:
                return True
    return False


def _subnet(ec2: Any, subnet_id: str) -> Any:
    try:
        return ec2.get_subnet(subnet_id)
    except Exception:
        return None


def _gateway_endpoint(ec2: Any, rt: Any, region: str, service: str) -> bool:
    wanted = f"com.amazonaws.{region}.{service}"
    for ep in list(ec2.vpc_end_points.values()):
        if ep.service_name != wanted or ep.state != "available" or ep.vpc_id != rt.vpc_id:
            continue
        if (ep.vpc_endpoint_type or "Gateway").lower() != "gateway":
            continue
        if rt.id in (ep.route_table_ids or []):
            return True
    return False


def _interface_endpoint(ec2: Any, vpc_id: str, region: str, service: str, fn_groups: list[Any],
                        subnets: list[Any]) -> bool:
    wanted = f"com.amazonaws.{region}.{service}"
    for ep in list(ec2.vpc_end_points.values()):
        if ep.service_name != wanted or ep.state != "available" or ep.vpc_id != vpc_id:
            continue
        if (ep.vpc_endpoint_type or "").lower() != "interface" or not ep.private_dns_enabled:
            continue
        ep_groups = [g for g in (_group(ec2, gid) for gid in ep.security_group_ids or []) if g is not None]
        if all(_admits(ep_groups, fn_groups, s.cidr_block, 443) for s in subnets):
            return True
    return False


def _group(ec2: Any, group_id: str) -> Any:
    try:
        return ec2.get_security_group_from_id(group_id)
    except Exception:
        return None


def _port_ok(rule: Any, port: int) -> bool:
    proto = (rule.ip_protocol or "").lower()
    if proto == "-1":
        return True
    return proto == "tcp" and rule.from_port is not None and rule.from_port <= port <= (rule.to_port or 0)


def _covers(cidr: str | None, target: str) -> bool:
    if not cidr:
        return False
    try:
        return ipaddress.ip_network(target, strict=False).subnet_of(ipaddress.ip_network(cidr, strict=False))
    except (ValueError, TypeError):
        return False


def _admits(groups: list[Any], sources: list[Any], source_cidr: str, port: int) -> bool:
    """One of `groups` has an inbound rule for `port` from one of `sources` or a CIDR covering `source_cidr`."""
    source_ids = {g.id for g in sources}
    for g in groups:
        for rule in g.ingress_rules:
            if not _port_ok(rule, port):
                continue
            if rule.source_group and rule.source_group.get("GroupId") in source_ids:
                return True
            if _covers(rule.ip_range.get("CidrIp") if rule.ip_range else None, source_cidr):
                return True
    return False


def _egress(groups: list[Any], port: int, dest_cidr: str, dest_groups: list[Any] | None = None,
            prefix_list_ok: bool = False) -> bool:
    """One of `groups` allows `port` outbound to one of `dest_groups`, a CIDR covering
    `dest_cidr`, or (prefix_list_ok: a gateway endpoint's service) a managed prefix list."""
    dest_ids = {g.id for g in dest_groups or []}
    for g in groups:
        for rule in g.egress_rules:
            if not _port_ok(rule, port):
                continue
            if rule.source_group and rule.source_group.get("GroupId") in dest_ids:
                return True
            if _covers(rule.ip_range.get("CidrIp") if rule.ip_range else None, dest_cidr):
                return True
            if prefix_list_ok and getattr(rule, "prefix_list_id", None):
                return True
    return False


# -- the table -------------------------------------------------------------------------------

def function_network(account_id: str, region: str, fn_config: Any) -> dict[str, Any]:
    """The network table of one function (a GetFunctionConfiguration dict, or moto's
    LambdaFunction). Call with core.lock held."""
    from moto.ec2.models import ec2_backends

    from . import edge

    https, http = edge.ports()
    edge_https, edge_http = f"127.0.0.1:{https}", f"127.0.0.1:{http}"
    subnet_ids, group_ids = _vpc_config(fn_config)
    ec2 = ec2_backends[account_id][region]
    subnets = [s for s in (_subnet(ec2, sid) for sid in subnet_ids) if s is not None]
    fn_groups = [g for g in (_group(ec2, gid) for gid in group_ids) if g is not None]
    in_vpc = bool(subnets)
    vpc_id = subnets[0].vpc_id if subnets else None
    tables = [_route_table(ec2, s) for s in subnets]

    def public(port: int) -> bool:
        """The internet (and AWS's public endpoints) through a NAT from every subnet."""
        return (not in_vpc) or (all(t is not None and _nat_path(ec2, t) for t in tables)
                                and _egress(fn_groups, port, "0.0.0.0/0"))

    hosts: dict[str, str] = {}
    routes: dict[str, str] = {}

    def serve(ip: str) -> None:
        routes[f"{ip}:443"] = edge_https
        routes[f"{ip}:80"] = edge_http

    # DynamoDB and S3: gateway endpoints or public paths.
    for service, ip in (("dynamodb", DYNAMODB_IP), ("s3", S3_IP)):
        names = [f"{service}.{region}.amazonaws.com"]
        if service == "s3":
            names += ["s3.amazonaws.com", f"s3.dualstack.{region}.amazonaws.com"]
        for n in names:
            hosts[n] = ip
        reachable = public(443) or (
            all(t is not None and _gateway_endpoint(ec2, t, region, service) for t in tables)
            and _egress(fn_groups, 443, "0.0.0.0/0", prefix_list_ok=True))
        if reachable:
            serve(ip)

    # Other AWS services: public, or an interface endpoint with private DNS.
    for service in _SERVICES:
        ip = _service_vip(service)
        hosts[f"{service}.{region}.amazonaws.com"] = ip
        if public(443) or (in_vpc and _interface_endpoint(ec2, vpc_id, region, service, fn_groups, subnets)):
            serve(ip)
    for global_name in ("sts.amazonaws.com", "iam.amazonaws.com"):
        hosts[global_name] = AWS_IP
    if public(443):
        serve(AWS_IP)
    if public(443) or public(80):
        if not in_vpc or _egress(fn_groups, 443, "0.0.0.0/0"):
            routes[f"{INTERNET_IP}:443"] = edge_https
        if not in_vpc or _egress(fn_groups, 80, "0.0.0.0/0"):
            routes[f"{INTERNET_IP}:80"] = edge_http

    # Cache nodes.
    for ep in caches.endpoints(account_id, region):
        ip = _node_vip(account_id, region, ep["node_id"])
        hosts[ep["hostname"].lower()] = ip
        if in_vpc and ep["vpc_id"] == vpc_id and _cache_reachable(ec2, ep, subnets, fn_groups):
            routes[f"{ip}:{ep.get('client_port') or ep['port']}"] = ep["real"]

    return {
        "hosts": hosts,
        "suffixes": {
            f".s3.{region}.amazonaws.com": S3_IP,
            f".ddb.{region}.amazonaws.com": DYNAMODB_IP,  # account-based DynamoDB endpoints
            ".amazonaws.com": AWS_IP,
        },
        "defaultHost": INTERNET_IP,
        "routes": routes,
        "tarpit": tarpit(),
    }


def _cache_reachable(ec2: Any, ep: dict[str, Any], subnets: list[Any], fn_groups: list[Any]) -> bool:
    cache_groups = [g for g in (_group(ec2, gid) for gid in ep["security_group_ids"]) if g is not None]
    if not cache_groups:
        # No groups given: AWS puts the cache in the VPC's default group, which admits
        # only its own members.
        default = next((g for g in list(ec2.groups.get(ep["vpc_id"], {}).values()) if g.name == "default"), None)
        cache_groups = [default] if default is not None else []
    port = int(ep["port"])
    if not all(_admits(cache_groups, fn_groups, s.cidr_block, port) for s in subnets):
        return False
    return all(_egress(fn_groups, port, c, cache_groups) for c in _cache_subnet_cidrs(ec2, ep))


def _cache_subnet_cidrs(ec2: Any, ep: dict[str, Any]) -> list[str]:
    out = []
    for sid in ep.get("subnet_ids") or []:
        s = _subnet(ec2, sid)
        if s is not None:
            out.append(s.cidr_block)
    return out or ["0.0.0.0/0"]  # unknown subnets: only a rule to anywhere (or to the group) covers them


# Bumped by every EC2 request that may change what a function reaches (not Describe*), and by
# a reset: the edge (edge.py) ends its kept-alive connections then.
generation = 0
_EC2_READS = (b"Action=Describe", b"Action=Get")


def _note_change(environ: dict[str, Any]) -> None:
    global generation
    if environ.get("REQUEST_METHOD") != "POST" or "/ec2/aws4_request" not in environ.get("HTTP_AUTHORIZATION", ""):
        return
    size = int(environ.get("CONTENT_LENGTH") or 0)
    raw = environ["wsgi.input"].read(size) if size else b""
    environ["wsgi.input"] = io.BytesIO(raw)
    if not any(read in raw for read in _EC2_READS):
        generation += 1


def on_reset() -> None:
    global generation
    generation += 1


def route(environ: dict[str, Any], start_response: Any) -> list[bytes] | None:
    _note_change(environ)
    return _network_route(environ, start_response)


def _network_route(environ: dict[str, Any], start_response: Any) -> list[bytes] | None:
    """GET /cct-fidelity/network?function=<name>[&region=]: the table a function would get
    now (for tests and for looking at why a function cannot reach something)."""
    if environ.get("PATH_INFO") != "/cct-fidelity/network":
        return None
    from urllib.parse import parse_qs

    from moto.awslambda.models import lambda_backends
    from moto.core import DEFAULT_ACCOUNT_ID

    q = parse_qs(environ.get("QUERY_STRING", ""))
    account = q.get("account", [DEFAULT_ACCOUNT_ID])[0]
    region = q.get("region", ["us-east-1"])[0]
    name = q.get("function", [""])[0]
    with core.lock:
        try:
            fn = lambda_backends[account][region].get_function(name)
        except Exception as e:
            return core.json_response(start_response, "404 Not Found", {"error": str(e)})
        table = function_network(account, region, fn.get_configuration())
    return core.json_response(start_response, "200 OK", table)
