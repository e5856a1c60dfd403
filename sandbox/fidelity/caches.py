"""A real redis-server per replication group node, TLS, TestFailover and AWS/ElastiCache metrics.

What AWS does, and what this module plays:

- Nodes. Every member cluster of a replication group (<group>-001, -002, ...) is one cache
  node running the engine ("Understanding replication", ElastiCache User Guide): one
  primary that takes writes, replicas that replicate from it asynchronously and refuse
  writes. Here each member is a redis-server on a free 127.0.0.1 port, started when the
  group becomes `available` and killed when it starts deleting (or on reset); replicas run
  with `replicaof` the primary. No persistence (`--save '' --appendonly no`): a node
  keeps its data only while it lives, like a cache node without backups.
- In-transit encryption. With TransitEncryptionEnabled the node speaks TLS only
  ("ElastiCache in-transit encryption (TLS)": "all clients must use TLS"), with a
  certificate for the group's endpoint names; here `--tls-port` with `--port 0` and a
  certificate from certs.leaf() for the primary, reader and node endpoint names (and
  their wildcard, as AWS's certificate is).
- AUTH. With an AuthToken the node requires it ("Authenticating users with the AUTH
  command"): `--requirepass` (and `--masterauth` for replication).
- TestFailover (API_TestFailover; moto lacks it): the node group's replica is promoted
  (`REPLICAOF NO ONE`), the old primary comes back as a replica of it (read-only: writes
  get READONLY), and the primary endpoint follows the new primary ("Failover ... the
  primary endpoint ... is updated to point to the promoted replica", "Minimizing downtime
  with Multi-AZ"). Errors as documented: ReplicationGroupNotFoundFault,
  NodeGroupNotFoundFault, InvalidReplicationGroupState (not available),
  InvalidParameterCombination (automatic failover disabled, or no replica to promote).
- Metrics. ElastiCache publishes host-level and engine metrics "for each cache node in
  60-second intervals" ("Monitoring use with CloudWatch Metrics"); the engine ones are
  derived from INFO ("Metrics for Valkey and Redis OSS": CacheHits = keyspace_hits,
  CacheMisses = keyspace_misses, CurrConnections = connected_clients, NewConnections =
  total_connections_received, Evictions = evicted_keys, CurrItems = keys of the keyspace,
  BytesUsedForCache = used_memory, EngineCPUUtilization = the engine thread's CPU). Every
  `metricsPeriodSeconds` a thread reads INFO of each node and puts the deltas (gauges as
  read) into AWS/ElastiCache with dimensions CacheClusterId=<member> and CacheNodeId=0001
  (the CLI example of "Monitoring CloudWatch Cluster and Node Metrics" queries a node by
  both). AWS also serves each metric under CacheClusterId alone; moto's CloudWatch
  matches a query's dimensions as a subset, so these datapoints already answer that query
  (publishing both series would count every hit twice in moto).

Processes die with the moto process: they are started by one long-lived thread with
PR_SET_PDEATHSIG (which fires when the *thread* that forked exits, so never a request
thread).
"""

from __future__ import annotations

import concurrent.futures
import ctypes
import os
import signal
import socket
import ssl
import subprocess
import threading
import time
from typing import Any

from . import certs, core

PR_SET_PDEATHSIG = 1
_LOG_DIR_ENV = "CCT_SANDBOX_LOG_DIR"

_nodes: dict[tuple[str, str, str], "Node"] = {}   # (account, region, member cluster id)
_spawner = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="cct-redis-spawner")
_metrics_thread: threading.Thread | None = None
_libc: Any = None


class Node:
    def __init__(self, account: str, region: str, rg: Any, member: dict[str, Any], ng: dict[str, Any]):
        self.account = account
        self.region = region
        self.rg = rg
        self.group_id = rg.replication_group_id
        self.node_group_id = ng.get("node_group_id", "0001")
        self.cluster_id = member["cache_cluster_id"]
        self.hostname = (member.get("read_endpoint") or {}).get("address") or ""
        self.port = rg.port
        self.tls = bool(rg.transit_encryption_enabled)
        self.password = _auth_token(rg)
        self.real_port = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self.prev: dict[str, float] = {}
        self.prev_at = 0.0
        self.monitor: socket.socket | None = None

    @property
    def role(self) -> str:
        for ng in self.rg.node_groups:
            for m in ng["node_group_members"]:
                if m["cache_cluster_id"] == self.cluster_id:
                    return m.get("current_role") or "primary"
        return "primary"

    @property
    def real(self) -> str:
        return f"127.0.0.1:{self.real_port}"

    def command(self, *args: str, timeout: float = 1.0) -> Any:
        """One command on a fresh connection (AUTH first when the group has a token)."""
        sock = _connect(self.real_port, self.tls, timeout)
        try:
            if self.password:
                _call(sock, "AUTH", self.password)
            return _call(sock, *args)
        finally:
            sock.close()

    def info(self) -> dict[str, str]:
        """INFO over a kept connection: the monitoring connection AWS also has on every
        node ("ElastiCache uses two to four of the connections to monitor the cluster")."""
        for attempt in (0, 1):
            try:
                if self.monitor is None:
                    self.monitor = _connect(self.real_port, self.tls, 1.0)
                    if self.password:
                        _call(self.monitor, "AUTH", self.password)
                text = _call(self.monitor, "INFO", "all")
                return _parse_info(text if isinstance(text, str) else "")
            except (OSError, ValueError, RedisError):
                self.close_monitor()
                if attempt:
                    raise
        return {}

    def close_monitor(self) -> None:
        if self.monitor is not None:
            try:
                self.monitor.close()
            except OSError:
                pass
            self.monitor = None


class RedisError(Exception):
    pass


# -- a minimal RESP client ---------------------------------------------------------------

def _connect(port: int, tls: bool, timeout: float) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    if tls:
        ctx = ssl.create_default_context(cafile=certs.ca_path())
        ctx.check_hostname = False  # the sandbox's own loopback connection; clients check names
        sock = ctx.wrap_socket(sock)
    return sock


def _call(sock: socket.socket, *args: str) -> Any:
    payload = f"*{len(args)}\r\n".encode()
    for a in args:
        data = a.encode()
        payload += b"$%d\r\n%s\r\n" % (len(data), data)
    sock.sendall(payload)
    reader = sock.makefile("rb")
    try:
        return _read(reader)
    finally:
        reader.close()


def _read(reader: Any) -> Any:
    line = reader.readline()
    if not line:
        raise OSError("connection closed")
    kind, rest = line[:1], line[1:-2].decode()
    if kind == b"+":
        return rest
    if kind == b"-":
        raise RedisError(rest)
    if kind == b":":
        return int(rest)
    if kind == b"$":
        n = int(rest)
        if n < 0:
            return None
        data = reader.read(n + 2)
        return data[:-2].decode(errors="replace")
    if kind == b"*":
        n = int(rest)
        return None if n < 0 else [_read(reader) for _ in range(n)]
    raise ValueError(f"bad reply {line!r}")


def _parse_info(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in text.splitlines():
        if ":" in line and not line.startswith("#"):
            k, _, v = line.partition(":")
            out[k] = v
    return out


# -- processes -------------------------------------------------------------------------

def _auth_token(rg: Any) -> str | None:
    for cluster in getattr(rg, "_cct_members", []):
        if getattr(cluster, "auth_token", None):
            return cluster.auth_token
    return None


def _free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def _tie() -> None:
    if _libc is not None:
        _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def _popen(args: list[str], log: str) -> subprocess.Popen[bytes]:
    out = open(log, "ab") if log else subprocess.DEVNULL
    try:
        return subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                preexec_fn=_tie, close_fds=True)
    finally:
        if log:
            out.close()  # type: ignore[union-attr]


def _group_names(rg: Any) -> list[str]:
    names: list[str] = []
    for ng in rg.node_groups:
        for key in ("primary_endpoint", "reader_endpoint"):
            address = (ng.get(key) or ng.get("_cct_saved", {}).get(key) or {}).get("address")
            if address:
                names.append(address)
        for m in ng["node_group_members"]:
            address = (m.get("read_endpoint") or m.get("_cct_saved", {}).get("read_endpoint") or {}).get("address")
            if address:
                names.append(address)
    config = getattr(rg, "configuration_endpoint", None)
    if isinstance(config, dict) and config.get("address"):
        names.append(config["address"])
    # AWS's node certificates are wildcards for the group's domain.
    domains = {n.split(".", 1)[1] for n in names if "." in n}
    return names + [f"*.{d}" for d in sorted(domains)]


def _start(node: Node, primary: Node | None) -> None:
    log_dir = os.environ.get(_LOG_DIR_ENV) or certs.state_dir()
    last_error = ""
    for _attempt in range(3):
        port = _free_port()
        args = ["redis-server", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                "--protected-mode", "no", "--daemonize", "no", "--loglevel", "warning",
                # A replica's full sync starts at once (Redis 7 waits 5 s for more replicas).
                "--repl-diskless-sync-delay", "0",
                # A replica writes the synced RDB into its dir: not the server's cwd (the checkout).
                "--dir", certs.state_dir()]
        if node.tls:
            certfile, keyfile = certs.leaf(_group_names(node.rg))
            args += ["--port", "0", "--tls-port", str(port), "--tls-cert-file", certfile,
                     "--tls-key-file", keyfile, "--tls-ca-cert-file", certs.ca_path(),
                     "--tls-auth-clients", "no", "--tls-replication", "yes"]
        else:
            args += ["--port", str(port)]
        if node.password:
            args += ["--requirepass", node.password, "--masterauth", node.password]
        if primary is not None:
            args += ["--replicaof", "127.0.0.1", str(primary.real_port)]
        log = os.path.join(log_dir, f"redis-{node.cluster_id}-{port}.log")
        proc = _spawner.submit(_popen, args, log).result()
        node.proc, node.real_port = proc, port
        deadline = time.monotonic() + 3.0
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                break
            try:
                if node.command("PING", timeout=0.5) == "PONG":
                    return
            except (OSError, RedisError, ValueError):
                time.sleep(0.01)
        try:
            with open(log, "rb") as f:
                last_error = f.read()[-400:].decode(errors="replace")
        except OSError:
            pass
        _kill(node, wait=0.2)
    raise RuntimeError(f"cct sandbox: redis-server for {node.cluster_id} did not start: {last_error}")


def _kill(node: Node, wait: float = 0.0) -> None:
    node.close_monitor()
    proc = node.proc
    if proc is None or proc.poll() is not None:
        return
    try:
        proc.kill()
    except OSError:
        return
    try:
        proc.wait(timeout=wait) if wait > 0 else None
    except subprocess.TimeoutExpired:
        pass
    if proc.poll() is None:
        threading.Thread(target=proc.wait, daemon=True).start()


# -- lifecycle: follow the groups --------------------------------------------------------

def patch() -> None:
    global _libc, _metrics_thread
    try:
        _libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        _libc = None
    _patch_test_failover()
    if _metrics_thread is None:
        _metrics_thread = threading.Thread(target=_metrics_loop, name="cct-elasticache-metrics", daemon=True)
        _metrics_thread.start()


def sweep(now: float) -> None:
    """Start the nodes of groups that became available; stop those of groups deleting or gone."""
    from moto.elasticache.models import elasticache_backends

    wanted: dict[tuple[str, str, str], tuple[Any, dict[str, Any], dict[str, Any]]] = {}
    for backend in core.backends(elasticache_backends):
        for rg in list(backend.replication_groups.values()):
            if rg.status not in ("available", "modifying", "snapshotting"):
                continue
            for ng in rg.node_groups:
                for m in ng["node_group_members"]:
                    wanted[(backend.account_id, backend.region_name, m["cache_cluster_id"])] = (rg, m, ng)
    for key, node in list(_nodes.items()):
        if key not in wanted or wanted[key][0] is not node.rg:
            _kill(node, wait=0.5)
            _nodes.pop(key, None)
    missing = [k for k in wanted if k not in _nodes]
    if not missing:
        return
    # Primaries first, so replicas can name their port.
    missing.sort(key=lambda k: 0 if wanted[k][1].get("current_role", "primary") == "primary" else 1)
    for key in missing:
        rg, member, ng = wanted[key]
        node = Node(key[0], key[1], rg, member, ng)
        primary = None
        if node.role != "primary":
            primary = next((n for n in _nodes.values() if n.rg is rg and n.node_group_id == node.node_group_id
                            and n.role == "primary"), None)
        try:
            _start(node, primary)
        except (OSError, RuntimeError) as e:
            # The group stays as moto has it; its endpoints just serve nothing (and the
            # failure is not retried on every request).
            print(f"cct sandbox: {e}", flush=True)
            node.real_port = 0
        _nodes[key] = node


def on_reset() -> None:
    """Reset must stay fast: kill every node, reap in the background."""
    for node in list(_nodes.values()):
        _kill(node)
    _nodes.clear()


def endpoints(account_id: str, region: str) -> list[dict[str, Any]]:
    """Every name a client can use for this account's cache nodes, and where it is served.

    One entry per name: each node's own endpoint (kind "node", role primary/replica), each
    node group's primary endpoint (kind "primary", served by the current primary) and
    reader endpoint (kind "reader", a replica, or the primary when there is none, as AWS's
    reader endpoint does). `node_id` is the member cluster id the name leads to; network.py
    gives every node_id one virtual address. Call with core.lock held."""
    from moto.elasticache.models import elasticache_backends

    try:
        backend = elasticache_backends[account_id][region]
    except KeyError:
        return []
    out: list[dict[str, Any]] = []
    for rg in list(backend.replication_groups.values()):
        mine = {n.cluster_id: n for k, n in _nodes.items()
                if k[:2] == (account_id, region) and n.rg is rg and n.real_port}
        if not mine:
            continue
        vpc_id = None
        group = backend.cache_subnet_groups.get(rg.cache_subnet_group_name or "")
        if group is not None:
            vpc_id = group.vpc_id
        sgs = list(rg.security_group_ids or [])

        def entry(node: Node, kind: str, hostname: str) -> dict[str, Any]:
            return {"group_id": rg.replication_group_id, "node_id": node.cluster_id, "role": node.role, "kind": kind,
                    "hostname": hostname, "port": rg.port, "real": node.real, "tls": node.tls,
                    "vpc_id": vpc_id, "security_group_ids": sgs}

        for ng in rg.node_groups:
            members = [mine[m["cache_cluster_id"]] for m in ng["node_group_members"] if m["cache_cluster_id"] in mine]
            if not members:
                continue
            primary = next((n for n in members if n.role == "primary"), members[0])
            replicas = [n for n in members if n is not primary]
            for n in members:
                if n.hostname:
                    out.append(entry(n, "node", n.hostname))
            if (ng.get("primary_endpoint") or {}).get("address"):
                out.append(entry(primary, "primary", ng["primary_endpoint"]["address"]))
            if (ng.get("reader_endpoint") or {}).get("address"):
                out.append(entry(replicas[0] if replicas else primary, "reader", ng["reader_endpoint"]["address"]))
    return out


def route(environ: dict[str, Any], start_response: Any) -> list[bytes] | None:
    """GET /cct-fidelity/caches[?region=]: endpoints() of the default account, for tests."""
    if environ.get("PATH_INFO") != "/cct-fidelity/caches":
        return None
    from urllib.parse import parse_qs

    from moto.core import DEFAULT_ACCOUNT_ID

    q = parse_qs(environ.get("QUERY_STRING", ""))
    with core.lock:
        body = endpoints(q.get("account", [DEFAULT_ACCOUNT_ID])[0], q.get("region", ["us-east-1"])[0])
    return core.json_response(start_response, "200 OK", body)


# -- TestFailover -------------------------------------------------------------------------

def _patch_test_failover() -> None:
    from moto.core.responses import ActionResult
    from moto.elasticache.exceptions import (ElastiCacheException, InvalidParameterCombinationException,
                                             ReplicationGroupNotFound)
    from moto.elasticache.responses import ElastiCacheResponse

    class NodeGroupNotFound(ElastiCacheException):
        code = "NodeGroupNotFoundFault"

    class InvalidReplicationGroupState(ElastiCacheException):
        code = "InvalidReplicationGroupState"

    def test_failover(self: Any) -> Any:
        backend = self.elasticache_backend
        rg_id = self._get_param("ReplicationGroupId")
        ng_id = self._get_param("NodeGroupId")
        rg = backend.replication_groups.get(rg_id)
        if rg is None:
            raise ReplicationGroupNotFound(rg_id)
        ng = next((g for g in rg.node_groups if g.get("node_group_id") == ng_id), None)
        if ng is None:
            raise NodeGroupNotFound(f"The node group {ng_id} was not found in replication group {rg_id}.")
        if rg.status != "available":
            raise InvalidReplicationGroupState(
                f"Replication group {rg_id} is not in available state (status: {rg.status}).")
        members = ng["node_group_members"]
        replicas = [m for m in members if m.get("current_role") == "replica"]
        if rg.automatic_failover != "enabled" or not replicas:
            raise InvalidParameterCombinationException(
                f"Test failover needs automatic failover enabled and at least one replica in node group {ng_id} "
                f"of replication group {rg_id}.")
        old = next(m for m in members if m.get("current_role") == "primary")
        new = replicas[0]
        _failover(backend.account_id, backend.region_name, old["cache_cluster_id"], new["cache_cluster_id"], members)
        old["current_role"], new["current_role"] = "replica", "primary"
        rg.primary_cluster_id = new["cache_cluster_id"]
        return ActionResult({"ReplicationGroup": rg})

    ElastiCacheResponse.test_failover = test_failover


def _failover(account: str, region: str, old_id: str, new_id: str, members: list[dict[str, Any]]) -> None:
    """Promote `new_id`, make `old_id` (and any other replica) replicate from it."""
    old = _nodes.get((account, region, old_id))
    new = _nodes.get((account, region, new_id))
    if old is None or new is None:
        return  # no processes (yet): the roles alone change
    new.command("REPLICAOF", "NO", "ONE")
    for m in members:
        node = _nodes.get((account, region, m["cache_cluster_id"]))
        if node is not None and node is not new:
            node.command("REPLICAOF", "127.0.0.1", str(new.real_port))


# -- metrics -------------------------------------------------------------------------------

_COUNTERS = {  # metric -> INFO field, published as the delta over the period
    "CacheHits": "keyspace_hits",
    "CacheMisses": "keyspace_misses",
    "NewConnections": "total_connections_received",
    "Evictions": "evicted_keys",
    "NetworkBytesIn": "total_net_input_bytes",
    "NetworkBytesOut": "total_net_output_bytes",
}
_UNITS = {"NetworkBytesIn": "Bytes", "NetworkBytesOut": "Bytes", "BytesUsedForCache": "Bytes",
          "EngineCPUUtilization": "Percent"}


def _cpu(info: dict[str, str]) -> float:
    try:
        return float(info["used_cpu_sys_main_thread"]) + float(info["used_cpu_user_main_thread"])
    except (KeyError, ValueError):
        return float(info.get("used_cpu_sys", 0) or 0) + float(info.get("used_cpu_user", 0) or 0)


def _items(info: dict[str, str]) -> int:
    total = 0
    for k, v in info.items():
        if k.startswith("db") and k[2:].isdigit():
            for part in v.split(","):
                if part.startswith("keys="):
                    total += int(part[5:])
    return total


def sample(node: Node) -> dict[str, tuple[float, str]]:
    """The metrics of one node since its previous sample (the first from the node's start,
    when every counter was 0)."""
    info = node.info()
    at = time.monotonic()
    out: dict[str, tuple[float, str]] = {}
    for metric, field in _COUNTERS.items():
        value = float(info.get(field, 0) or 0)
        out[metric] = (max(0.0, value - node.prev.get(field, 0.0)), _UNITS.get(metric, "Count"))
        node.prev[field] = value
    cpu = _cpu(info)
    elapsed = at - node.prev_at if node.prev_at else 0.0
    if elapsed > 0:
        out["EngineCPUUtilization"] = (min(100.0, max(0.0, (cpu - node.prev.get("cpu", 0.0)) / elapsed * 100)),
                                       "Percent")
    node.prev["cpu"], node.prev_at = cpu, at
    out["CurrConnections"] = (float(info.get("connected_clients", 0) or 0), "Count")
    out["CurrItems"] = (float(_items(info)), "Count")
    out["BytesUsedForCache"] = (float(info.get("used_memory", 0) or 0), "Bytes")
    return out


def publish_once() -> None:
    """Read INFO of every node (outside the lock) and publish (under it)."""
    import datetime

    when = datetime.datetime.now(datetime.timezone.utc)
    batch: list[tuple[Node, dict[str, tuple[float, str]]]] = []
    for node in list(_nodes.values()):
        if node.proc is None or node.proc.poll() is not None:
            continue
        try:
            batch.append((node, sample(node)))
        except (OSError, RedisError, ValueError):
            continue  # killed between listing and reading
    if not batch:
        return
    with core.lock:
        for node, metrics in batch:
            if _nodes.get((node.account, node.region, node.cluster_id)) is not node:
                continue  # deleted or reset meanwhile
            dims = {"CacheClusterId": node.cluster_id, "CacheNodeId": "0001"}
            for name, (value, unit) in metrics.items():
                core.put_metric(node.account, node.region, "AWS/ElastiCache", name, dims, value, unit, when)


def _metrics_loop() -> None:
    last = time.monotonic()
    while True:
        time.sleep(0.1)
        period = float(core.config.get("metricsPeriodSeconds", 60.0) or 60.0)
        if time.monotonic() - last < period:
            continue
        last = time.monotonic()
        try:
            publish_once()
        except Exception as e:  # never let the thread die
            print(f"cct sandbox: ElastiCache metrics: {e!r}", flush=True)
