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
        # Cluster mode enabled (sharded): a redis cluster node, named as AWS names it,
        # <member id>.<group domain> (the configuration endpoint without "clustercfg.").
        # A group moved to cluster mode (compatible, then enabled: elasticache_cluster_mode.py) runs
        # cluster nodes that keep their member endpoints; shards added later are named as above.
        converted = bool(getattr(rg, "_cct_cluster_nodes", False))
        self.cluster = bool(getattr(rg, "cluster_enabled", False)) or converted
        if self.cluster:
            # A serverless cache's one node answers as its endpoint (elasticache_serverless.py).
            self.hostname = (getattr(rg, "_cct_node_hostname", None) or (converted and self.hostname)
                             or f"{self.cluster_id}.{_cluster_domain(rg)}")
        self.serverless = bool(getattr(rg, "serverless", False))
        self.cluster_node_id = ""
        self.conf_path = ""
        self.bus_port = 0
        self.port = rg.port
        self.tls = bool(rg.transit_encryption_enabled)
        self.password = _auth_token(rg)
        self.real_port = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self.prev: dict[str, float] = {}
        self.prev_at = 0.0
        self.monitor: socket.socket | None = None

    @property
    def node_group(self) -> dict[str, Any] | None:
        return next((ng for ng in self.rg.node_groups if ng.get("node_group_id") == self.node_group_id), None)

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


def _read(reader: Any, raw: bool = False) -> Any:
    """One reply; bulk strings as text, or as bytes with `raw` (DUMP payloads are binary)."""
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
        return data[:-2] if raw else data[:-2].decode(errors="replace")
    if kind == b"*":
        n = int(rest)
        return None if n < 0 else [_read(reader, raw) for _ in range(n)]
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
                # A replica writes the synced RDB into its dir: not the server's cwd (the checkout),
                # and a file of its own, or a node started later would load another's keys at start.
                "--dir", certs.state_dir(), "--dbfilename", f"dump-{node.cluster_id}-{port}.rdb"]
        if node.tls:
            certfile, keyfile = certs.leaf(_group_names(node.rg))
            args += ["--port", "0", "--tls-port", str(port), "--tls-cert-file", certfile,
                     "--tls-key-file", keyfile, "--tls-ca-cert-file", certs.ca_path(),
                     "--tls-auth-clients", "no", "--tls-replication", "yes"]
        else:
            args += ["--port", str(port)]
        if node.password:
            args += ["--requirepass", node.password, "--masterauth", node.password]
        if node.cluster:
            # A cluster node announces its endpoint name (CLUSTER SLOTS, MOVED, ASK), as
            # ElastiCache does with in-transit encryption: the function's DNS resolves it
            # to the node's virtual address. It announces its real port, which the network
            # table routes on that address: replicas and the cluster bus use the announced
            # port too, so it must be one the node really listens on.
            # The bus on a port of its own (port + 10000, Redis's default, may be taken or
            # above 65535); nodes.conf where its fsync (at every slot change) costs nothing.
            node.conf_path = os.path.join(_conf_dir(), f"nodes-{node.cluster_id}-{port}.conf")
            node.bus_port = _free_port()
            args += ["--cluster-enabled", "yes", "--cluster-port", str(node.bus_port),
                     "--cluster-config-file", node.conf_path,
                     "--cluster-node-timeout", "2000", "--cluster-announce-hostname", node.hostname,
                     "--cluster-preferred-endpoint-type", "hostname",
                     # A slot being moved must not stop the other shards from answering.
                     "--cluster-require-full-coverage", "no"]
            if node.tls:
                args += ["--tls-cluster", "yes"]
        elif primary is not None:
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


# -- cluster mode: one redis cluster per sharded group -------------------------------------

SLOTS = 16384

_conf: dict[str, str] = {}


def _conf_dir() -> str:
    """Where cluster nodes keep nodes.conf: memory when the machine has /dev/shm (a node
    fsyncs it at every slot change, which on a busy disk slows resharding to a crawl);
    removed when the server exits."""
    if "dir" not in _conf:
        import atexit
        import shutil
        import tempfile

        base = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
        _conf["dir"] = tempfile.mkdtemp(prefix="cct-redis-cluster-", dir=base or certs.state_dir())
        atexit.register(shutil.rmtree, _conf["dir"], True)
    return _conf["dir"]


def _cluster_domain(rg: Any) -> str:
    address = (getattr(rg, "configuration_endpoint", None) or {}).get("address") or ""
    return address.split(".", 1)[1] if address.startswith("clustercfg.") else address


def parse_slots(text: str) -> list[tuple[int, int]]:
    """"0-5461" or "0-100,200-300" (a node group's Slots) -> [(0, 5461)]."""
    out = []
    for part in (text or "").split(","):
        part = part.strip()
        if part:
            lo, _, hi = part.partition("-")
            out.append((int(lo), int(hi or lo)))
    return out


def format_slots(ranges: list[tuple[int, int]]) -> str:
    return ",".join(f"{lo}-{hi}" for lo, hi in sorted(ranges))


def _cluster_info(node: Node) -> dict[str, str]:
    return _parse_info(node.command("CLUSTER", "INFO"))


def _form_cluster(rg: Any, nodes: list[Node]) -> None:
    """Make the group's nodes one redis cluster, as `redis-cli --cluster create` would:
    each node group's primary takes its Slots (distinct config epochs), every node meets
    the first, replicas replicate their primary; done when every node says
    cluster_state:ok and knows every other node."""
    nodes = [n for n in nodes if n.real_port]
    if not nodes:
        return
    for n in nodes:
        n.cluster_node_id = n.command("CLUSTER", "MYID")
    primaries = [n for n in nodes if n.role == "primary"]
    for epoch, n in enumerate(primaries, start=1):
        n.command("CLUSTER", "SET-CONFIG-EPOCH", str(epoch))
        ng = n.node_group or {}
        for lo, hi in parse_slots(ng.get("slots", "")):
            n.command("CLUSTER", "ADDSLOTSRANGE", str(lo), str(hi))
    first = nodes[0]
    for n in nodes[1:]:
        n.command("CLUSTER", "MEET", "127.0.0.1", str(first.real_port), str(first.bus_port))
    _wait_cluster(nodes, lambda info: info.get("cluster_known_nodes") == str(len(nodes)))
    for n in nodes:
        if n.role != "primary":
            primary = next((p for p in primaries if p.node_group_id == n.node_group_id), None)
            if primary is not None:
                _retry(lambda n=n, primary=primary: n.command("CLUSTER", "REPLICATE", primary.cluster_node_id))
    _wait_cluster(nodes, lambda info: info.get("cluster_state") == "ok"
                  and info.get("cluster_known_nodes") == str(len(nodes)))


def _retry(fn: Any, seconds: float = 5.0) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        try:
            return fn()
        except RedisError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _wait_cluster(nodes: list[Node], good: Any, seconds: float = 15.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if all(good(_cluster_info(n)) for n in nodes):
                return
        except (OSError, RedisError, ValueError):
            pass
        time.sleep(0.05)
    raise RuntimeError("cct sandbox: the redis cluster did not converge")


def _pipeline(node: Node, commands: list[list[Any]], timeout: float = 10.0, raw: bool = False) -> list[Any]:
    """Many commands on one connection, sent at once and answered in order; an error reply
    is returned as a RedisError, not raised. Arguments may be bytes; `raw` answers bytes."""
    sock = _connect(node.real_port, node.tls, timeout)
    try:
        payload = b""
        if node.password:
            commands = [["AUTH", node.password]] + commands
        for args in commands:
            payload += f"*{len(args)}\r\n".encode()
            for a in args:
                data = a if isinstance(a, bytes) else str(a).encode()
                payload += b"$%d\r\n%s\r\n" % (len(data), data)
        sock.sendall(payload)
        reader = sock.makefile("rb")
        out: list[Any] = []
        for _ in commands:
            try:
                out.append(_read(reader, raw))
            except RedisError as e:
                out.append(e)
        reader.close()
        return out[1:] if node.password else out
    finally:
        sock.close()


def migrate_slots(source: Node, target: Node, slots: list[int], everyone: list[Node]) -> int:
    """Move slots online, as `redis-cli --cluster reshard` does, a batch of slots at a
    time: the target IMPORTING, the source MIGRATING (a key already moved answers ASK, a
    new key goes to the target, so every key stays readable and writable), the keys moved
    by MIGRATE (atomic per call), then every node told the new owner. Returns the keys moved."""
    def check(replies: list[Any]) -> None:
        errors = [r for r in replies if isinstance(r, RedisError)]
        if errors:
            raise errors[0]

    check(_pipeline(target, [["CLUSTER", "SETSLOT", str(s), "IMPORTING", source.cluster_node_id] for s in slots]))
    check(_pipeline(source, [["CLUSTER", "SETSLOT", str(s), "MIGRATING", target.cluster_node_id] for s in slots]))
    counts = _pipeline(source, [["CLUSTER", "COUNTKEYSINSLOT", str(s)] for s in slots])
    moved = 0
    auth = ["AUTH", source.password] if source.password else []
    for slot, count in zip(slots, counts):
        while isinstance(count, int) and count > 0:
            keys = source.command("CLUSTER", "GETKEYSINSLOT", str(slot), "1000") or []
            if not keys:
                break
            source.command("MIGRATE", "127.0.0.1", str(target.real_port), "", "0", "5000", "REPLACE", *auth,
                           "KEYS", *keys, timeout=6.0)
            moved += len(keys)
    # The new owner first, then the old one, then the rest (what the reshard protocol asks).
    for n in [target, source] + [n for n in everyone if n is not target and n is not source]:
        _pipeline(n, [["CLUSTER", "SETSLOT", str(s), "NODE", target.cluster_node_id] for s in slots])
    return moved


def reshard_remove(rg: Any, remove: list[str]) -> dict[str, str]:
    """ModifyReplicationGroupShardConfiguration to fewer shards: move every slot of the node
    groups in `remove` to those that stay (spread evenly, in contiguous ranges), then make
    the cluster forget the removed nodes. Runs outside the request lock (the group is
    `modifying`); the caller then drops the node groups. Returns {node group id: its new Slots}."""
    with core.lock:
        nodes = [n for n in _nodes.values() if n.rg is rg and n.real_port]
        owned = {ng["node_group_id"]: parse_slots(ng.get("slots", "")) for ng in rg.node_groups}
    going = [n for n in nodes if n.node_group_id in remove]
    staying = [n for n in nodes if n.node_group_id not in remove]
    primary = {n.node_group_id: n for n in nodes if n.role == "primary"}
    kept = [ng for ng in owned if ng not in remove]
    slots = {ng: list(owned[ng]) for ng in kept}
    size = {ng: sum(hi - lo + 1 for lo, hi in slots[ng]) for ng in kept}
    for source_ng in [ng for ng in owned if ng in remove]:
        # How many slots each shard that stays takes (the smallest first, so they even
        # out), then contiguous runs of the source's slots in that order, as AWS and
        # `redis-cli --cluster rebalance` move them: dealt one slot at a time, the slot
        # map would split into thousands of one-slot ranges and CLUSTER SLOTS would grow
        # from a few ranges to ~1.5 MB, more than a client's slots refresh budget.
        moving = [slot for lo, hi in owned[source_ng] for slot in range(lo, hi + 1)]
        share = dict.fromkeys(kept, 0)
        for _slot in moving:
            target_ng = min(kept, key=lambda ng: size[ng])
            share[target_ng] += 1
            size[target_ng] += 1
        plan: dict[str, list[int]] = {}
        start = 0
        for target_ng in kept:
            plan[target_ng] = moving[start:start + share[target_ng]]
            start += share[target_ng]
        for target_ng in kept:
            batch = plan.get(target_ng, [])
            source, target = primary.get(source_ng), primary.get(target_ng)
            if source is not None and target is not None:  # no processes: the slots move on paper
                _move_slots(source, target, batch, staying + [source])
            for slot in batch:
                _add_slot(slots[target_ng], slot)
    for n in going:
        for other in staying:
            try:
                other.command("CLUSTER", "FORGET", n.cluster_node_id)
            except RedisError:
                pass
    if staying:
        _wait_cluster(staying, lambda info: info.get("cluster_state") == "ok"
                      and info.get("cluster_known_nodes") == str(len(staying)))
    return {ng: format_slots(r) for ng, r in slots.items()}


def _move_slots(source: Node, target: Node, slots: list[int], everyone: list[Node]) -> None:
    """Small batches with a breath between them: clients keep their latency while slots
    move (AWS throttles online resharding the same way, and takes longer)."""
    for i in range(0, len(slots), 128):
        migrate_slots(source, target, slots[i:i + 128], everyone)
        time.sleep(0.02)


def reshard_add(rg: Any, added: list[str], slots: dict[str, str]) -> None:
    """ModifyReplicationGroupShardConfiguration to more shards: start the nodes of the node
    groups in `added` (already in rg.node_groups, with no slots), join them to the cluster
    as `redis-cli --cluster add-node` does, then move slots to them online until every node
    group holds its even share (the existing ones give up the top of their ranges, so each
    new group gets a few contiguous runs). Runs outside the request lock (the group is
    `modifying`); `slots` ({node group id: Slots}) follows every batch moved, so a failure
    leaves a record of where the slots are."""
    with core.lock:
        old = [n for n in _nodes.values() if n.rg is rg and n.real_port]
        members = [(ng, m) for ng in rg.node_groups if ng["node_group_id"] in added for m in ng["node_group_members"]]
        owned = {ng["node_group_id"]: parse_slots(ng.get("slots", "")) for ng in rg.node_groups}
        key = (old[0].account, old[0].region) if old else None
    if key is None:
        raise RuntimeError("the group has no running nodes")
    new: list[Node] = []
    for ng, member in sorted(members, key=lambda p: 0 if p[1].get("current_role") == "primary" else 1):
        node = Node(key[0], key[1], rg, member, ng)
        _start(node, None)
        with core.lock:
            _nodes[(key[0], key[1], node.cluster_id)] = node
        new.append(node)
    everyone = old + new
    first = old[0]
    for n in new:
        n.cluster_node_id = n.command("CLUSTER", "MYID")
        n.command("CLUSTER", "MEET", "127.0.0.1", str(first.real_port), str(first.bus_port))
    # A node that joined answers CLUSTERDOWN (to MIGRATE too) until it has learned every slot's owner.
    _wait_cluster(everyone, lambda info: info.get("cluster_state") == "ok"
                  and info.get("cluster_known_nodes") == str(len(everyone)))
    primary = {n.node_group_id: n for n in everyone if n.role == "primary"}
    for n in new:
        if n.role != "primary":
            _retry(lambda n=n: n.command("CLUSTER", "REPLICATE", primary[n.node_group_id].cluster_node_id))
    # The even share of each node group (as CreateReplicationGroup deals them), the existing
    # ones first: what each existing group holds above its share moves, its top slots first.
    held = {ng: {slot for lo, hi in r for slot in range(lo, hi + 1)} for ng, r in owned.items()}
    share = dict(zip(held, even_shares(len(held))))
    surplus = [(ng, slot) for ng in held if ng not in added for slot in sorted(held[ng])[share[ng]:]]
    start = 0
    for target_ng in added:
        take = surplus[start:start + share[target_ng]]
        start += len(take)
        for source_ng in dict.fromkeys(ng for ng, _ in take):
            batch = [slot for ng, slot in take if ng == source_ng]
            _move_slots(primary[source_ng], primary[target_ng], batch, everyone)
            held[source_ng] -= set(batch)
            held[target_ng] |= set(batch)
            slots.update({ng: format_slots(runs(mine)) for ng, mine in held.items()})
    _wait_cluster(everyone, lambda info: info.get("cluster_state") == "ok"
                  and info.get("cluster_known_nodes") == str(len(everyone)))


def convert_to_cluster(rg: Any) -> None:
    """ModifyReplicationGroup ClusterMode=compatible: a redis-server cannot turn
    cluster-enabled on at run time, so each member gets a new cluster node (the primary holding
    all 16384 slots, the replicas replicating it), the data is copied across while the old
    primary takes no writes (CLIENT PAUSE WRITE: reads go on; DUMP and RESTORE keep each key's
    value and TTL, so an invalidation cannot be lost between copy and switch), then the new
    nodes take the old ones' place under the same member ids (their endpoints now lead there)
    and the old processes are killed, closing their clients' connections: clients reconnect
    and find every key. Runs outside the request lock (the group is `modifying`)."""
    with core.lock:
        old = [n for n in _nodes.values() if n.rg is rg and n.real_port]
        members = [(ng, m) for ng in rg.node_groups for m in ng["node_group_members"]]
    if not old:
        return  # no processes: the mode changes on paper
    key = (old[0].account, old[0].region)
    new: list[Node] = []
    try:
        for ng, member in sorted(members, key=lambda p: 0 if p[1].get("current_role") == "primary" else 1):
            node = Node(key[0], key[1], rg, member, ng)
            _start(node, None)
            new.append(node)
        _form_cluster(rg, new)
        source = next((n for n in old if n.role == "primary"), old[0])
        target = next(n for n in new if n.role == "primary")
        source.command("CLIENT", "PAUSE", "60000", "WRITE")
        _copy_keys(source, target)
    except BaseException:
        for n in new:
            _kill(n)
        raise
    with core.lock:
        for n in new:
            _nodes[(n.account, n.region, n.cluster_id)] = n
    for n in old:
        _kill(n, wait=0.5)


def _copy_keys(source: Node, target: Node) -> None:
    """Every key of db 0 (ElastiCache moves only groups whose keys are all in db 0), with its TTL."""
    cursor = "0"
    while True:
        cursor, keys = source.command("SCAN", cursor, "COUNT", "500")
        if keys:
            replies = _pipeline(source, [[verb, k] for k in keys for verb in ("DUMP", "PTTL")], raw=True)
            restores = []
            for k, dump, ttl in zip(keys, replies[0::2], replies[1::2]):
                if isinstance(dump, bytes) and isinstance(ttl, int) and ttl != -2:
                    restores.append(["RESTORE", k, str(max(ttl, 0)), dump, "REPLACE"])
            errors = [r for r in _pipeline(target, restores) if isinstance(r, RedisError)]
            if errors:
                raise errors[0]
        if cursor == "0":
            return


def even_shares(shards: int) -> list[int]:
    """How many of the 16384 slots each of `shards` node groups holds when dealt evenly."""
    return [(i + 1) * SLOTS // shards - i * SLOTS // shards for i in range(shards)]


def runs(slots: set[int]) -> list[tuple[int, int]]:
    """Slots as contiguous ranges."""
    out: list[tuple[int, int]] = []
    for slot in sorted(slots):
        if out and out[-1][1] + 1 == slot:
            out[-1] = (out[-1][0], slot)
        else:
            out.append((slot, slot))
    return out


def _add_slot(ranges: list[tuple[int, int]], slot: int) -> None:
    for i, (lo, hi) in enumerate(ranges):
        if hi + 1 == slot or lo - 1 == slot:
            ranges[i] = (min(lo, slot), max(hi, slot))
            ranges.sort()
            for j in range(len(ranges) - 1, 0, -1):  # two ranges the slot joins become one
                if ranges[j - 1][1] + 1 >= ranges[j][0]:
                    ranges[j - 1] = (ranges[j - 1][0], max(ranges[j - 1][1], ranges[j][1]))
                    del ranges[j]
            return
    ranges.append((slot, slot))
    ranges.sort()


def _kill(node: Node, wait: float = 0.0) -> None:
    node.close_monitor()
    for path in (node.conf_path, os.path.join(certs.state_dir(), f"dump-{node.cluster_id}-{node.real_port}.rdb")):
        try:
            os.unlink(path) if path else None
        except OSError:
            pass
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
        for rg in _groups(backend):
            if rg.status not in ("available", "modifying", "snapshotting"):
                continue
            for ng in rg.node_groups:
                for m in ng["node_group_members"]:
                    wanted[(backend.account_id, backend.region_name, m["cache_cluster_id"])] = (rg, m, ng)
    for key, node in list(_nodes.items()):
        if key not in wanted or wanted[key][0] is not node.rg:
            _kill(node, wait=0.5)
            _nodes.pop(key, None)
    # A group adding shards starts their nodes itself (reshard_add), joining a running cluster.
    missing = [k for k in wanted if k not in _nodes and not getattr(wanted[k][0], "_cct_resharding", False)]
    if not missing:
        return
    # Primaries first, so replicas can name their port.
    missing.sort(key=lambda k: 0 if wanted[k][1].get("current_role", "primary") == "primary" else 1)
    started: dict[int, tuple[Any, list[Node]]] = {}
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
        if node.cluster:
            started.setdefault(id(rg), (rg, []))[1].append(node)
    # A sharded group's nodes become one cluster once they all run.
    for rg, _new in started.values():
        members = [n for n in _nodes.values() if n.rg is rg]
        try:
            _form_cluster(rg, members)
        except (OSError, RedisError, RuntimeError, ValueError) as e:
            print(f"cct sandbox: cluster {rg.replication_group_id}: {e}", flush=True)


def _groups(backend: Any) -> list[Any]:
    """What runs nodes: replication groups, and serverless caches (one cluster node each)."""
    from . import elasticache_serverless

    return list(backend.replication_groups.values()) + list(elasticache_serverless.caches_of(backend).values())


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
    for rg in _groups(backend):
        mine = {n.cluster_id: n for k, n in _nodes.items()
                if k[:2] == (account_id, region) and n.rg is rg and n.real_port}
        if not mine:
            continue
        vpc_id = getattr(rg, "vpc_id", None)
        subnet_ids = list(getattr(rg, "subnet_ids", None) or [])
        group = backend.cache_subnet_groups.get(getattr(rg, "cache_subnet_group_name", None) or "")
        if group is not None:
            vpc_id = group.vpc_id
            subnet_ids = list(getattr(group, "subnet_ids", None) or [])
        sgs = list(rg.security_group_ids or [])

        def entry(node: Node, kind: str, hostname: str, client_port: int | None = None,
                  port: int | None = None) -> dict[str, Any]:
            # client_port: where clients connect on this name when it is not the group's port
            # (a cluster node's announced port); security groups are still checked on `port`.
            return {"group_id": rg.replication_group_id, "node_id": node.cluster_id, "role": node.role, "kind": kind,
                    "hostname": hostname, "port": port or rg.port, "client_port": client_port or port or rg.port,
                    "real": node.real, "tls": node.tls, "vpc_id": vpc_id, "subnet_ids": subnet_ids,
                    "security_group_ids": sgs}

        if getattr(rg, "serverless", False):
            # One name: the endpoint on 6379, the reader endpoint on 6380, and the port the
            # node announces in CLUSTER SLOTS (checked as 6379, the port clients were admitted on).
            node = next(iter(mine.values()))
            out.append(entry(node, "serverless", rg.address))
            out.append(entry(node, "reader", rg.address, port=6380))
            out.append(entry(node, "node", rg.address, node.real_port))
            continue

        cluster_nodes = any(n.cluster for n in mine.values())
        if getattr(rg, "cluster_enabled", False) or cluster_nodes:
            # Cluster mode: every node by its name, at the port it announces in CLUSTER SLOTS
            # and MOVED; the configuration endpoint leads to a primary (on AWS its DNS
            # answers a node's address), on the group's port.
            nodes = sorted(mine.values(), key=lambda n: n.cluster_id)
            for n in nodes:
                out.append(entry(n, "node", n.hostname, n.real_port))
            config = getattr(rg, "configuration_endpoint", None) or {}
            first = next((n for n in nodes if n.role == "primary"), nodes[0])
            if config.get("address"):
                out.append(entry(first, "configuration", config["address"]))
            if getattr(rg, "cluster_enabled", False):
                continue
            # Compatible mode (or on its way there): the primary and reader endpoints still
            # serve clients that do not speak the cluster protocol (their node holds every slot).

        for ng in rg.node_groups:
            members = [mine[m["cache_cluster_id"]] for m in ng["node_group_members"] if m["cache_cluster_id"] in mine]
            if not members:
                continue
            primary = next((n for n in members if n.role == "primary"), members[0])
            replicas = [n for n in members if n is not primary]
            for n in members:
                if n.hostname and not cluster_nodes:
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
    if new.cluster:
        # A cluster replica takes over its primary's slots; the old primary follows it.
        new.command("CLUSTER", "FAILOVER", "FORCE")
        _wait_cluster([new], lambda info: True)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and "role:master" not in new.command("INFO", "replication"):
            time.sleep(0.05)
        return
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
    if node.serverless:
        out = _serverless_metrics(node, info, out)
    return out


def _serverless_metrics(node: Node, info: dict[str, str], out: dict[str, tuple[float, str]]) -> dict[str, tuple[float, str]]:
    """A serverless cache publishes no host or engine CPU ("Serverless metrics and events":
    BytesUsedForCache, ElastiCacheProcessingUnits, CacheHits, CacheMisses, CurrConnections,
    ThrottledCmds, ...). ECPUs: "simple reads and writes require 1 ECPU for each kilobyte (KB)
    of data transferred" ("ElastiCache pricing"): here the commands of the period, or the
    kilobytes they moved when that is more. The sandbox's own INFO is counted as a command
    (a few ECPUs a period), which AWS would not bill."""
    out.pop("EngineCPUUtilization", None)
    cmds = float(info.get("total_commands_processed", 0) or 0)
    delta = max(0.0, cmds - node.prev.get("total_commands_processed", 0.0))
    node.prev["total_commands_processed"] = cmds
    kilobytes = (out["NetworkBytesIn"][0] + out["NetworkBytesOut"][0]) / 1024
    out["ElastiCacheProcessingUnits"] = (max(delta, kilobytes), "Count")
    out["TotalCmdsCount"] = (delta, "Count")
    # No usage limit is reached in the sandbox: nothing is throttled.
    out["ThrottledCmds"] = (0.0, "Count")
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
            dims = ({"clusterId": node.group_id} if node.serverless
                    else {"CacheClusterId": node.cluster_id, "CacheNodeId": "0001"})
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
