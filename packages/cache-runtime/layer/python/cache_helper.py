"""cct cache helper for Python Lambda functions (shipped in the cct layer).

A drop-in for the runbook's ``cache_helper`` module: ``cache_get``, ``cache_set``,
``cache_delete`` and ``cache_decorator(key_prefix, ttl)`` keep their names and call
shapes, so existing handlers run unchanged. Behind them:

* a miss is ``None`` only when there is no entry: 0, "", False and [] are cached values;
* "not found" (a loader returning None) is cached briefly (CACHE_TTL_NOT_FOUND, 60 s);
* decorator keys cover ALL arguments (one plain argument keeps the runbook's
  ``prefix:arg`` shape, so ``cache_delete('article:42')`` clears ``get_article('42')``);
* concurrent misses load once: per process (threads) and across containers (a short
  Redis lock; others wait a bounded time for the value, then load anyway);
* TTLs get +/-10% jitter; per-entity presets are overridable by env (CACHE_TTL_ARTICLES);
* an invalidation cannot be undone by a slower reader: loads check a per-key generation,
  atomically, before writing back (the runbook's cache_get -> load -> cache_set pattern
  included);
* Redis errors never reach the caller: short timeouts, no retries, a circuit breaker that
  probes in the background (jittered backoff), so no request waits for a sick Redis;
* Lambda-proof connections: a connect budget (CACHE_CONNECT_TIMEOUT_MS, 400 ms) that
  includes the TLS handshake and opens the breaker when spent, and a command timeout
  opens it too (then probes at once), so a hung or unreachable Redis costs one timeout
  per container; a connection idle for CACHE_IDLE_RECONNECT_MS
  (a frozen container) is replaced before use; after a failover (READONLY from the old
  primary) the pool reconnects, re-resolving the endpoint, and retries once;
* a slow loader renews its cross-container lock, so other containers keep waiting for
  its value (up to CACHE_LOCK_WAIT_MS, 10 s) instead of loading too;
* a sharded cache (REDIS_CLUSTER=true: REDIS_HOST/REDIS_PORT are its configuration
  endpoint) is reached through redis-py's RedisCluster, created on first use; an entry,
  its generation and its lock share a hash tag, so every script runs on one shard;
* corrupt entries are misses and are deleted; oversize values are not cached;
* hits/misses/errors/load times are CloudWatch Embedded Metric Format lines on stdout.

Values are stored as JSON. What DynamoDB and Python hand over is encoded like this:

* ``Decimal``: its exact digits as a JSON number. Read back, integers are ``int``; other
  numbers are ``float`` when the float prints exactly those digits (4.5, 0.1, 19.99),
  else ``Decimal`` (12345678901234567.89), so no digit is ever lost and ``json.dumps`` of
  a cached item prints the digits the table holds;
* sets: sorted lists; ``bytes``/``Binary``: base64 text;
* ``datetime``, ``date`` and ``time``: ISO 8601 text (``value.isoformat()``, e.g.
  ``2024-05-01T12:30:00+00:00``), read back as that text. A load returns the same text,
  so callers see one shape whether the value came from the table or from Redis.

Keys, entry format and Lua scripts are identical to the Node helper (cct-cache), so
Node and Python functions share entries and invalidations.
"""

import base64
import datetime as _dt
import functools
import hashlib
import json
import math
import os
import random
import re
import socket
import sys
import threading
import time
import uuid
from decimal import Decimal

try:  # The layer ships redis-py; without it the helper still works, as a pass-through.
    import redis as _redis
    from redis.backoff import NoBackoff as _NoBackoff
    from redis.cluster import RedisCluster as _RedisCluster
    from redis.exceptions import NoScriptError as _NoScriptError
    from redis.exceptions import ReadOnlyError as _ReadOnlyError
    from redis.exceptions import TimeoutError as _RedisTimeoutError
    from redis.retry import Retry as _Retry
except ImportError:  # pragma: no cover
    _redis = None
    _NoScriptError = Exception
    _ReadOnlyError = Exception
    _RedisTimeoutError = ()  # isinstance(x, ()) is False: no redis-py, no timeouts

__all__ = [
    "cache_get",
    "cache_set",
    "cache_delete",
    "cache_decorator",
    "cache_get_or_load",
    "cache_invalidate",
    "cache_handler",
    "cache_close",
    "flush_metrics",
    "breaker_state",
    "redis_key",
    "call_key",
    "ttl_for",
    "configure",
    "TTL_PRESETS",
    "METRIC_NAMES",
]

VERSION = "1.0.0"

# Per-entity TTLs (seconds) from the runbook; each overridable by CACHE_TTL_<NAME>.
TTL_PRESETS = {
    "articles": 3600,
    "videos": 1800,
    "userProfiles": 900,
    "election": 86400,
    "resources": 7200,
    "lists": 1800,
}

# Stored for "the loader found nothing". Not valid JSON, so no value can be mistaken for it.
NOT_FOUND_MARKER = "!not-found"

METRIC_NAMES = (
    "CacheHit",
    "CacheMiss",
    "CacheError",
    "CacheBypass",
    "CacheSkip",
    "CacheCorrupt",
    "CacheStaleWriteRejected",
)

# --- Lua: the text of lua/*.lua, put in by the layer build (scripts/layer/lua.ts) --

_MISS = LUA("miss.lua")

_WRITE_IF_CURRENT = LUA("write_if_current.lua")

_INVALIDATE = LUA("invalidate.lua")

_DELETE_IF_EQUALS = LUA("delete_if_equals.lua")

_RENEW_LOCK = LUA("renew_lock.lua")

SCRIPTS = {
    "MISS": _MISS,
    "WRITE_IF_CURRENT": _WRITE_IF_CURRENT,
    "INVALIDATE": _INVALIDATE,
    "DELETE_IF_EQUALS": _DELETE_IF_EQUALS,
    "RENEW_LOCK": _RENEW_LOCK,
}

_SHA = {text: hashlib.sha1(text.encode()).hexdigest() for text in SCRIPTS.values()}

# --- configuration (same env vars as the Node helper) ---------------------------------


def _log(message):
    print(message, file=sys.stderr)


def preset_env_name(preset):
    """``userProfiles`` -> ``CACHE_TTL_USER_PROFILES``."""
    out = []
    for i, ch in enumerate(preset):
        if ch.isupper() and i > 0 and (preset[i - 1].islower() or preset[i - 1].isdigit()):
            out.append("_")
        out.append(ch.upper())
    return "CACHE_TTL_" + "".join(out)


def _number(env, name, default, check=lambda n: n >= 0):
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
        if math.isfinite(value) and check(value):
            return int(value) if value.is_integer() else value
    except ValueError:
        pass
    _log("[cct-cache] ignoring %s=%r: not a valid number, using %s" % (name, raw, default))
    return default


def _flag(env, name, default):
    raw = (env.get(name) or "").strip().lower()
    if raw == "":
        return default
    return raw in ("true", "1", "yes", "on")


def _positive(n):
    return n > 0


def read_config(env=None):
    """Settings from env vars; see src/cache/config.ts for what each one does."""
    env = os.environ if env is None else env
    host = (env.get("REDIS_HOST") or "").strip() or None
    return {
        "host": host,
        "port": int(_number(env, "REDIS_PORT", 6379, lambda n: n.is_integer() and 0 < n < 65536)),
        "tls": _flag(env, "REDIS_TLS", False),
        "cluster": _flag(env, "REDIS_CLUSTER", False),
        "connect_timeout_ms": _number(env, "CACHE_CONNECT_TIMEOUT_MS", 400, _positive),
        "command_timeout_ms": _number(env, "CACHE_COMMAND_TIMEOUT_MS", 300, _positive),
        "idle_reconnect_ms": _number(env, "CACHE_IDLE_RECONNECT_MS", 240000),
        "stack": (env.get("CACHE_STACK") or "").strip() or "cct",
        "schema_version": (env.get("CACHE_SCHEMA_VERSION") or "").strip() or "1",
        "default_ttl": _number(env, "CACHE_TTL_DEFAULT", 3600, _positive),
        "not_found_ttl": _number(env, "CACHE_TTL_NOT_FOUND", 60, _positive),
        "presets": {
            name: _number(env, preset_env_name(name), seconds, _positive) for name, seconds in TTL_PRESETS.items()
        },
        "jitter": _number(env, "CACHE_TTL_JITTER", 0.1, lambda n: 0 <= n < 1),
        "max_value_bytes": _number(env, "CACHE_MAX_VALUE_BYTES", 1024 * 1024, _positive),
        "lock_ttl_ms": _number(env, "CACHE_LOCK_TTL_MS", 3000, _positive),
        "lock_wait_ms": _number(env, "CACHE_LOCK_WAIT_MS", 10000),
        "lock_poll_ms": _number(env, "CACHE_LOCK_POLL_MS", 50, _positive),
        "breaker_threshold": int(_number(env, "CACHE_BREAKER_THRESHOLD", 5, lambda n: n.is_integer() and n > 0)),
        "breaker_cooldown_ms": _number(env, "CACHE_BREAKER_COOLDOWN_MS", 500),
        "breaker_max_cooldown_ms": _number(env, "CACHE_BREAKER_MAX_COOLDOWN_MS", 4000),
        "generation_ttl": _number(env, "CACHE_GENERATION_TTL_SECONDS", 86400, _positive),
        "metrics": _flag(env, "CACHE_METRICS", True),
        "metrics_namespace": (env.get("CACHE_METRICS_NAMESPACE") or "").strip() or "cct/cache",
        "service_name": (env.get("CACHE_SERVICE_NAME") or "").strip()
        or (env.get("AWS_LAMBDA_FUNCTION_NAME") or "").strip()
        or "local",
        "disabled": _flag(env, "CACHE_DISABLED", False),
    }


# --- keys -----------------------------------------------------------------------------


def _key_set(namespace, key):
    """``article:42`` -> entry ``cct:v1:{article:42}`` (+ ``:gen``, ``:lock``). The braces
    are a Redis Cluster hash tag: the three keys share a slot, so the scripts work sharded."""
    if not isinstance(key, str) or key == "":
        raise TypeError("cache key must be a non-empty string")
    entry = "%s{%s}" % (namespace, key)
    return entry, entry + ":gen", entry + ":lock"


def _js_number(n):
    """Numbers as JavaScript prints them, so Node and Python derive the same keys."""
    if isinstance(n, Decimal):
        n = int(n) if n == n.to_integral_value() else float(n)
    if isinstance(n, float) and n.is_integer() and abs(n) < 1e21:
        return str(int(n))
    return repr(n) if isinstance(n, float) else str(n)


def _key_normal(value):
    """Plain JSON data for key derivation: sets sorted by their JSON text (as in Node)."""
    if isinstance(value, dict):
        return {str(k): _key_normal(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_key_normal(v) for v in value]
    if isinstance(value, (set, frozenset)):
        items = [_key_normal(v) for v in value]
        return sorted(items, key=lambda v: json.dumps(v, sort_keys=True, separators=(",", ":"), ensure_ascii=False))
    return _key_default(value) if isinstance(value, (Decimal, bytes, bytearray)) else value


def _stable(value):
    return json.dumps(_key_normal(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


_MAX_ARGS_TEXT = 200


def call_key(prefix, args=(), kwargs=None):
    """The key of one call of a decorated function, covering every argument.
    One plain string/number argument keeps the runbook's ``prefix:arg`` shape; anything
    else is stable JSON (sorted keys), which starts with ``[`` or ``{`` and so never
    collides with the plain form. Long keys are hashed. Same rules as callKey in Node."""
    if not args and not kwargs:
        return prefix
    if len(args) == 1 and not kwargs:
        only = args[0]
        if isinstance(only, str) and only and only[0] not in "[{":
            return "%s:%s" % (prefix, only)
        if isinstance(only, (int, float, Decimal)) and not isinstance(only, bool):
            if not isinstance(only, (float, Decimal)) or math.isfinite(only):
                return "%s:%s" % (prefix, _js_number(only))
    text = _stable(list(args)) if not kwargs else _stable({"args": list(args), "kwargs": kwargs})
    if len(text) <= _MAX_ARGS_TEXT:
        return "%s:%s" % (prefix, text)
    return "%s:#%s" % (prefix, hashlib.sha256(text.encode()).hexdigest())


# --- values ---------------------------------------------------------------------------


def _key_default(value):
    """Key derivation only: numbers as JavaScript prints them, so Node and Python agree."""
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError("non-finite Decimal")
        return int(value) if value == value.to_integral_value() else float(value)
    return _json_default(value)


# A Decimal's digits travel through json.dumps as this string, then are put back as a bare
# number. The NUL makes a collision with a real string impossible in practice.
_DECIMAL_MARK = "\x00cct-decimal:"
_DECIMAL_TEXT = re.compile(r'"\\u0000cct-decimal:([-+0-9.eE]+)"')


def _json_default(value):
    """JSON for what DynamoDB and Python hand over (see the module docstring): Decimal ->
    its exact digits, sets -> sorted lists, bytes -> base64, dates -> ISO 8601 text."""
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError("non-finite Decimal")
        if value == value.to_integral_value():
            return int(value)
        return _DECIMAL_MARK + str(value)
    if isinstance(value, (_dt.datetime, _dt.date, _dt.time)):
        return value.isoformat()
    if isinstance(value, (set, frozenset)):
        items = list(value)
        try:
            return sorted(items)
        except TypeError:
            return items
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if hasattr(value, "value") and type(value).__name__ == "Binary":  # boto3 Binary
        return base64.b64encode(bytes(value.value)).decode("ascii")
    raise TypeError("%s is not JSON serializable" % type(value).__name__)


def _encode(value):
    """The stored text, or None when the value cannot be serialized (then it is not cached)."""
    if value is None:
        return NOT_FOUND_MARKER
    try:
        text = json.dumps(value, default=_json_default, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError, RecursionError):
        return None
    if "\\u0000cct-decimal:" in text:
        text = _DECIMAL_TEXT.sub(r"\1", text)
    return text


def _parse_float(text):
    """A non-integral JSON number: float when the float prints exactly these digits, else
    Decimal, so digits beyond a float's precision are kept."""
    number = float(text)
    if math.isfinite(number) and Decimal(repr(number)) == Decimal(text):
        return number
    return Decimal(text)


_NONE = object()  # nothing usable in the entry (absent or corrupt)
_DOWN = object()  # Redis failed, timed out, or is being skipped


def _decode(raw):
    """(kind, value): 'value', 'not-found' or 'corrupt'."""
    if raw == NOT_FOUND_MARKER:
        return "not-found", None
    try:
        value = json.loads(raw, parse_float=_parse_float)
    except (ValueError, TypeError, ArithmeticError):
        return "corrupt", None
    return ("not-found", None) if value is None else ("value", value)


# --- breaker, single-flight, metrics --------------------------------------------------


class _Breaker:
    """Skip Redis after N consecutive failures, or at once through trip() when a connect
    spent its whole budget (every further try would cost as much). No request probes:
    the cache probes in the background after next_delay() (jittered exponential backoff,
    so containers that lost Redis together do not reconnect in step) and calls close()."""

    def __init__(self, threshold, base_ms, max_ms, on_change):
        self.threshold = threshold
        self.base = base_ms / 1000.0
        self.max = max(base_ms, max_ms) / 1000.0
        self.on_change = on_change
        self.state = "closed"
        self.failures = 0
        self.probes = 0
        self.probe_now = False
        self.lock = threading.Lock()

    def allow(self):
        return self.state == "closed"

    def success(self):
        self.failures = 0

    def failure(self):
        with self.lock:
            self.failures += 1
            opened = self.state == "closed" and self.failures >= self.threshold
        return self.trip() if opened else False

    def trip(self, probe_now=False):
        """Open now. probe_now: the first background probe goes at once, not after a
        backoff step (a command timeout: a hung Redis and a silently dead socket look the
        same to one command; a probe on a new connection tells them apart in a few ms)."""
        with self.lock:
            if self.state == "open":
                return False
            self.probes = 0
            self.probe_now = probe_now
            self.state = "open"
        self._notify("open")
        return True

    def next_delay(self):
        with self.lock:
            if self.probe_now:
                self.probe_now = False
                return 0.0
            step = min(self.max, self.base * 2 ** min(self.probes, 20))
            self.probes += 1
        return step / 2 + random.random() * step / 2

    def close(self):
        with self.lock:
            self.failures = 0
            self.probes = 0
            self.probe_now = False
            changed = self.state != "closed"
            self.state = "closed"
        if changed:
            self._notify("closed")

    def _notify(self, state):
        try:
            self.on_change(state)
        except Exception:
            pass


class _Flight:
    __slots__ = ("event", "result", "error")

    def __init__(self):
        self.event = threading.Event()
        self.result = None
        self.error = None


class _SingleFlight:
    """Threads missing the same key at once share one load."""

    def __init__(self):
        self.lock = threading.Lock()
        self.flights = {}

    def run(self, key, work):
        with self.lock:
            flight = self.flights.get(key)
            leader = flight is None
            if leader:
                flight = self.flights[key] = _Flight()
        if not leader:
            flight.event.wait()
            if flight.error is not None:
                raise flight.error
            return flight.result
        try:
            flight.result = work()
            return flight.result
        except BaseException as error:
            flight.error = error
            raise
        finally:
            with self.lock:
                if self.flights.get(key) is flight:
                    del self.flights[key]
            flight.event.set()

    def forget(self, key):
        with self.lock:
            self.flights.pop(key, None)


class _Metrics:
    """CloudWatch EMF lines on stdout: one per public call, or one per invocation inside
    a handler decorated with ``cache_handler``. No API call, no latency."""

    def __init__(self, enabled, namespace, service, sink=None):
        self.enabled = enabled
        self.namespace = namespace
        self.service = service
        self.sink = sink or self._stdout
        self.lock = threading.Lock()
        self.counts = {}
        self.load_times = []
        self.depth = 0

    @staticmethod
    def _stdout(line):
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

    def count(self, name, n=1):
        if self.enabled:
            with self.lock:
                self.counts[name] = self.counts.get(name, 0) + n

    def load_time(self, ms):
        if not self.enabled:
            return
        with self.lock:
            self.load_times.append(round(ms, 3))
            full = len(self.load_times) >= 100  # EMF takes at most 100 values per metric
        if full:
            self.flush()

    def end_call(self):
        if self.depth == 0:
            self.flush()

    def flush(self):
        with self.lock:
            if not self.counts and not self.load_times:
                return None
            counts, times = self.counts, self.load_times
            self.counts, self.load_times = {}, []
        metrics = [{"Name": name, "Unit": "Count"} for name in METRIC_NAMES]
        line = {
            "_aws": {
                "Timestamp": int(time.time() * 1000),
                "CloudWatchMetrics": [
                    {"Namespace": self.namespace, "Dimensions": [["FunctionName"]], "Metrics": metrics}
                ],
            },
            "FunctionName": self.service,
        }
        for name in METRIC_NAMES:
            line[name] = counts.get(name, 0)
        if times:
            metrics.append({"Name": "LoadTime", "Unit": "Milliseconds"})
            line["LoadTime"] = times
        try:
            self.sink(json.dumps(line, separators=(",", ":")))
        except Exception:
            pass  # metrics never fail a request
        return line


class _Call:
    """Per public call: once Redis fails during a call, the rest of the call skips it."""

    __slots__ = ("down",)

    def __init__(self):
        self.down = False


# --- the cache ------------------------------------------------------------------------


if _redis is not None:

    class _BudgetSSLConnection(_redis.SSLConnection):
        """TLS whose handshake shares the connect budget. redis-py gives the handshake the
        command timeout on top of the connect timeout; a hung TLS endpoint would then cost
        both on every request."""

        def _connect(self):
            started = time.monotonic()
            sock = _redis.connection.Connection._connect(self)  # TCP, within the budget
            left = self.socket_connect_timeout - (time.monotonic() - started)
            try:
                if left <= 0:
                    raise socket.timeout("connect budget spent before the TLS handshake")
                sock.settimeout(left)
                tls = self._wrap_socket_with_ssl(sock)
            except BaseException:
                sock.close()
                raise
            tls.settimeout(self.socket_timeout)
            return tls

    class _BudgetSSLPool(_redis.ConnectionPool):
        """A cluster node's pool with _BudgetSSLConnection. redis-py's Redis() takes no
        connection_class (RedisCluster passes its kwargs to Redis() per node, which then fails
        with "unexpected keyword argument 'connection_class'"); a pool class is what it lets
        one choose, for a cluster created from a URL."""

        def __init__(self, connection_class=None, connection_pool_class=None, **kwargs):
            super().__init__(connection_class=_BudgetSSLConnection, **kwargs)


class _LazyCluster:
    """A sharded cache (REDIS_CLUSTER=true): redis-py's RedisCluster on the configuration
    endpoint, created on first use. RedisCluster connects in its constructor (CLUSTER
    SLOTS), which must not happen at import: an unreachable cache would then fail the
    function's init instead of costing one connect budget inside a request, where the
    breaker sees it. Its nodes' connections have the single-node client's terms: the same
    timeouts, no retries (cluster-level retries only follow MOVED/ASK), TLS within the
    connect budget. Keys need no change: an entry, its generation and its lock share a
    hash tag, so every script and MGET the helper sends goes to one shard."""

    def __init__(self, config):
        self.config = config
        self.lock = threading.Lock()
        self.cluster = None

    def _client(self):
        cluster = self.cluster
        if cluster is not None:
            return cluster
        with self.lock:
            if self.cluster is None:
                config = self.config
                if config["tls"]:
                    # ssl=True would pick redis-py's SSLConnection (handshake outside the
                    # budget); this pool's has SSLConnection's defaults (verified, names
                    # checked). RedisCluster uses a pool class only for a URL's nodes.
                    where = {
                        "url": "rediss://%s:%d" % (config["host"], config["port"]),
                        "connection_pool_class": _BudgetSSLPool,
                    }
                else:
                    where = {"host": config["host"], "port": config["port"]}
                self.cluster = _RedisCluster(
                    **where,
                    socket_connect_timeout=config["connect_timeout_ms"] / 1000.0,
                    socket_timeout=config["command_timeout_ms"] / 1000.0,
                    socket_keepalive=True,
                    # A failed command is not retried (the breaker decides); MOVED and ASK
                    # are followed all the same, as they are not failures.
                    retry=_Retry(_NoBackoff(), 0),
                    retry_on_timeout=False,
                    decode_responses=True,
                    protocol=2,
                    driver_info=None,
                    # Node names and addresses as CLUSTER SLOTS gives them, never the
                    # configuration endpoint's DNS answer of the moment.
                    dynamic_startup_nodes=False,
                )
            return self.cluster

    def drop(self):
        """Close every node connection; the next command reconnects (and the slot map is kept)."""
        cluster = self.cluster
        if cluster is None:
            return
        for node in list(cluster.get_nodes()):
            pool = getattr(getattr(node, "redis_connection", None), "connection_pool", None)
            if pool is not None:
                try:
                    pool.disconnect(inuse_connections=False)
                except Exception:
                    pass

    def close(self):
        cluster, self.cluster = self.cluster, None
        if cluster is not None:
            cluster.close()

    def ping(self):
        return self._client().ping()

    def get(self, key):
        return self._client().get(key)

    def mget(self, *keys):
        return self._client().mget(*keys)

    def set(self, key, value, px=None):
        return self._client().set(key, value, px=px)

    def evalsha(self, sha, numkeys, *args):
        return self._client().evalsha(sha, numkeys, *args)

    def eval(self, text, numkeys, *args):
        return self._client().eval(text, numkeys, *args)

    def pttl(self, key):
        return self._client().pttl(key)

    def __getattr__(self, name):
        # Anything else a caller reaches for on the runbook's redis_client.
        return getattr(self._client(), name)


def _is_connect_timeout(error):
    return isinstance(error, Exception) and "Timeout connecting" in str(error)


def _is_command_timeout(error):
    """A reply that never came (redis-py: "Timeout reading from ...", "Timeout writing to
    socket"); a connect that timed out is not one (it trips the breaker on its own)."""
    return isinstance(error, _RedisTimeoutError) and not _is_connect_timeout(error)


class _Cache:
    def __init__(self, config, client=None, metrics_sink=None, log=None):
        self.config = config
        self.log = log or _log
        # Braces would move the hash tag off the key (see _key_set): dropped, as in Node.
        self.namespace = ("%s:v%s:" % (config["stack"], config["schema_version"])).replace("{", "").replace("}", "")
        enabled = not config["disabled"] and (client is not None or config["host"] is not None)
        if enabled and client is None and _redis is not None:
            client = self._create_client(config)
        self.client = client if enabled else None
        self.breaker = _Breaker(
            config["breaker_threshold"],
            config["breaker_cooldown_ms"],
            config.get("breaker_max_cooldown_ms", 4000),
            self._on_breaker,
        )
        self.metrics = _Metrics(
            config["metrics"] and self.client is not None,
            config["metrics_namespace"],
            config["service_name"],
            metrics_sink,
        )
        self.flights = _SingleFlight()
        self.pending = set()  # invalidations that could not reach Redis, replayed later
        self.pending_lock = threading.Lock()
        self.next_replay = 0.0
        self.fills = threading.local()  # cache_get misses awaiting their cache_set
        self.last_error = None
        self.last_io = 0.0  # monotonic time of the last reply: the idle-gap check
        self.closed = False
        self.probe_wakeup = threading.Event()
        self.probe_thread = None
        self.skipped_types = set()

    @staticmethod
    def _create_client(config):
        if config.get("cluster"):
            return _LazyCluster(config)
        return _Cache._create_node_client(config)

    @staticmethod
    def _create_node_client(config):
        """redis-py for Lambda: short timeouts and NO retries (redis-py 6+ retries three
        times by default, which would triple the cost of a sick cache), keep-alive, TLS on
        request with the handshake inside the connect budget, RESP2 and no CLIENT SETINFO so
        the first command needs no extra round trips."""
        client = _redis.Redis(
            host=config["host"],
            port=config["port"],
            ssl=config["tls"],
            socket_connect_timeout=config["connect_timeout_ms"] / 1000.0,
            socket_timeout=config["command_timeout_ms"] / 1000.0,
            socket_keepalive=True,
            retry=_Retry(_NoBackoff(), 0),
            retry_on_timeout=False,
            decode_responses=True,
            protocol=2,
            driver_info=None,
        )
        if config["tls"]:
            client.connection_pool.connection_class = _BudgetSSLConnection
        return client

    # Every Redis call goes through here: skipped while the breaker is open or after an
    # earlier failure in the same call, and any error turned into _DOWN.
    def redis(self, call, op):
        client = self.client
        if client is None or call.down or self.closed:
            return _DOWN
        if not self.breaker.allow():
            call.down = True
            self.metrics.count("CacheBypass")
            return _DOWN
        try:
            result = self._attempt(client, op)
            self.breaker.success()
            return result
        except Exception as error:
            call.down = True
            self.last_error = error
            self.metrics.count("CacheError")
            if _is_connect_timeout(error):
                # The connect spent its whole budget: every further try would cost as much.
                # Skip Redis now; the background probe finds out when it is back.
                self.breaker.trip()
            elif _is_command_timeout(error):
                # Redis hung, or the socket died without knowing it (a frozen container):
                # either way the next command would wait as long. Skip Redis at once (a hung
                # Redis costs one timeout per container, not one per failure up to the
                # threshold) and probe on a new connection now; redis-py has already
                # dropped the connection that timed out.
                self._drop_connections(client)
                self.breaker.trip(probe_now=True)
            else:
                self.breaker.failure()
            return _DOWN

    def _attempt(self, client, op):
        idle = self.config.get("idle_reconnect_ms", 0) / 1000.0
        now = time.monotonic()
        if idle > 0 and self.last_io and now - self.last_io > idle:
            # A connection unused this long (a frozen container) may be dead without
            # knowing it: one new handshake beats a command timeout.
            self._drop_connections(client)
        try:
            result = op(client)
        except _ReadOnlyError:
            # After a failover this connection reaches the old primary, now a replica. A new
            # connection resolves the endpoint again and reaches the new primary.
            self._drop_connections(client)
            result = op(client)
        self.last_io = time.monotonic()
        return result

    @staticmethod
    def _drop_connections(client):
        if isinstance(client, _LazyCluster):
            client.drop()
            return
        pool = getattr(client, "connection_pool", None)
        if pool is not None:
            try:
                pool.disconnect(inuse_connections=False)
            except Exception:
                pass

    def script(self, client, text, keys, args):
        sha = _SHA[text]
        try:
            return client.evalsha(sha, len(keys), *keys, *args)
        except _NoScriptError:
            return client.eval(text, len(keys), *keys, *args)

    def _on_breaker(self, state):
        if state == "open":
            self.log(
                "[cct-cache] Redis unavailable (%s: %s); serving from the source and retrying in the background"
                % (type(self.last_error).__name__, self.last_error)
            )
            self._start_probe()
        elif state == "closed":
            self.log("[cct-cache] Redis reachable again; caching resumed")

    # background probe: the only thing that talks to Redis while the breaker is open

    def _start_probe(self):
        if self.closed or self.client is None:
            return
        if self.probe_thread is not None and self.probe_thread.is_alive():
            return
        self.probe_wakeup.clear()
        self.probe_thread = threading.Thread(target=self._probe_loop, name="cct-cache-probe", daemon=True)
        self.probe_thread.start()

    def _probe_loop(self):
        while not self.closed and self.breaker.state != "closed":
            if self.probe_wakeup.wait(self.breaker.next_delay()):
                return  # close()
            try:
                self.client.ping()
                self.last_io = time.monotonic()
                if self.pending:
                    self._replay(self.client)
                if not self.closed:
                    self.breaker.close()
                return
            except Exception as error:
                self.last_error = error

    def close(self):
        """Stop using Redis: no probes, connections closed, later calls go to their loaders."""
        self.closed = True
        self.probe_wakeup.set()
        self.metrics.flush()
        if self.client is not None:
            try:
                self.client.close()
            except Exception:
                pass

    def keys(self, key):
        return _key_set(self.namespace, key)

    def ttl_seconds(self, ttl=None, preset=None):
        if ttl is not None:
            if not ttl > 0:
                raise ValueError("cache ttl must be > 0 seconds, got %r" % (ttl,))
            return ttl
        if preset is not None:
            if preset not in TTL_PRESETS:
                raise ValueError("unknown cache preset %r" % (preset,))
            return self.config["presets"][preset]
        return self.config["default_ttl"]

    def ttl_ms(self, payload, seconds):
        if payload == NOT_FOUND_MARKER:
            seconds = min(seconds, self.config["not_found_ttl"])
        spread = 1 + (random.random() * 2 - 1) * self.config["jitter"]
        return max(1, int(round(seconds * 1000 * spread)))

    def cacheable(self, text, value=None):
        """The text to store, or None (counted) when it must not be cached."""
        if text is None:
            kind = type(value).__name__
            if kind not in self.skipped_types and len(self.skipped_types) < 20:
                self.skipped_types.add(kind)
                self.log("[cct-cache] not caching a %s value: it holds something JSON cannot encode" % kind)
        if text is None or len(text.encode("utf-8")) > self.config["max_value_bytes"]:
            self.metrics.count("CacheSkip")
            return None
        return text

    def payload(self, value):
        return self.cacheable(_encode(value), value)

    # reads

    def read(self, keys, call):
        raw = self.redis(call, lambda r: r.get(keys[0]))
        if raw is _DOWN or raw is None:
            return _NONE
        return self.decode(keys, raw, call)

    def decode(self, keys, raw, call):
        kind, value = _decode(raw)
        if kind == "value":
            return value
        if kind == "not-found":
            return None
        # A corrupt entry would fail every read until it expires: count it, delete it.
        self.metrics.count("CacheCorrupt")
        self.redis(call, lambda r: self.script(r, _DELETE_IF_EQUALS, [keys[0]], [raw]))
        return _NONE

    def claim(self, keys, call):
        """After a miss: read the generation before the caller loads, take the load lock,
        or wait for another container's value while it holds (and renews) the lock.
        Returns (value, gen, token)."""
        token = uuid.uuid4().hex
        miss = self.redis(call, lambda r: self.script(r, _MISS, list(keys), [token, self.config["lock_ttl_ms"]]))
        if miss is _DOWN:
            return _NONE, None, ""
        if int(miss[0]) == 1:
            return self.decode(keys, miss[1], call), None, ""
        generation = miss[1] or ""
        if int(miss[2]) == 1:
            return _NONE, generation, token
        return self.wait_for_value(keys, call), generation, ""

    def wait_for_value(self, keys, call):
        deadline = time.monotonic() + self.config["lock_wait_ms"] / 1000.0
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return _NONE
            time.sleep(min(self.config["lock_poll_ms"] / 1000.0, left))
            seen = self.redis(call, lambda r: r.mget(keys[0], keys[2]))
            if seen is _DOWN:
                return _NONE
            raw, lock = seen
            if raw is not None:
                value = self.decode(keys, raw, call)
                if value is not _NONE:
                    return value
            if lock is None:  # that loader failed or could not cache: load ourselves
                return _NONE

    def keep_lock(self, keys, token):
        """Renew our load lock every third of its TTL while the loader runs, so a slow
        loader keeps it and other containers keep waiting instead of loading too. Only a
        lock still holding our token is extended. Returns the stop function."""
        client = self.client
        stop = threading.Event()
        if client is None or not token:
            return stop.set
        period = max(0.01, self.config["lock_ttl_ms"] / 3000.0)

        def renew():
            while not stop.wait(period):
                try:
                    if self.script(client, _RENEW_LOCK, [keys[2]], [token, self.config["lock_ttl_ms"]]) != 1:
                        return  # no longer ours
                except Exception:
                    pass  # retried next period; the TTL covers two misses

        threading.Thread(target=renew, name="cct-cache-lock", daemon=True).start()
        return stop.set

    # writes

    def write_if_current(self, keys, payload, seconds, generation, token, call):
        if payload is None:
            if token:
                self.redis(call, lambda r: self.script(r, _DELETE_IF_EQUALS, [keys[2]], [token]))
            return False
        ttl = self.ttl_ms(payload, seconds)
        written = self.redis(
            call, lambda r: self.script(r, _WRITE_IF_CURRENT, list(keys), [payload, ttl, generation, token])
        )
        if written == 0:
            self.metrics.count("CacheStaleWriteRejected")
        return written == 1

    def invalidate(self, keys_list):
        sets = [self.keys(k) for k in keys_list]
        for s in sets:
            self.flights.forget(s[0])
        if self.client is None or self.closed:
            return False
        call = _Call()
        ok = True
        try:
            for key, s in zip(keys_list, sets):
                if self.redis(call, lambda r, s=s: self._invalidate_one(r, s)) is _DOWN:
                    ok = False
                    self._remember(key)
        finally:
            self.metrics.end_call()
        return ok

    def _invalidate_one(self, client, keys):
        return self.script(client, _INVALIDATE, [keys[0], keys[1]], [int(self.config["generation_ttl"] * 1000)])

    def _remember(self, key):
        # Replayed before later calls and by the background probe; until it lands, its key
        # is served from the source, so an old value cannot outlive an outage.
        with self.pending_lock:
            if len(self.pending) >= 1000:
                self.log('[cct-cache] dropping invalidation of "%s": 1000 already pending' % key)
                return
            self.pending.add(key)

    def _replay(self, client):
        with self.pending_lock:
            keys = list(self.pending)
        for key in keys:
            self._attempt(client, lambda r, key=key: self._invalidate_one(r, self.keys(key)))
            with self.pending_lock:
                self.pending.discard(key)

    def settle_pending(self, key, call):
        """Before a call on `key`: try to land pending invalidations (at most every 250 ms).
        A failed replay neither fails the call nor counts against the breaker; only keys
        still pending skip Redis."""
        if not self.pending:
            return
        client = self.client
        now = time.monotonic()
        if client is not None and now >= self.next_replay and self.breaker.allow() and not self.closed:
            try:
                self._replay(client)
            except Exception as error:
                self.last_error = error
                self.next_replay = now + 0.25
        if key in self.pending:
            call.down = True
            self.metrics.count("CacheBypass")

    # public operations

    def get_or_load(self, key, loader, ttl=None, preset=None):
        keys = self.keys(key)
        seconds = self.ttl_seconds(ttl, preset)
        call = _Call()
        try:
            self.settle_pending(key, call)
            cached = self.read(keys, call)
            if cached is not _NONE:
                self.metrics.count("CacheHit")
                return cached
            self.metrics.count("CacheMiss")
            return self.flights.run(keys[0], lambda: self._load(keys, loader, seconds, call))
        finally:
            self.metrics.end_call()

    def _load(self, keys, loader, seconds, call):
        value, generation, token = self.claim(keys, call)
        if value is not _NONE:
            return value
        stop_renewing = self.keep_lock(keys, token)
        started = time.perf_counter()
        try:
            result = loader()
        except BaseException:
            stop_renewing()
            if token:
                self.redis(call, lambda r: self.script(r, _DELETE_IF_EQUALS, [keys[2]], [token]))
            raise
        stop_renewing()
        self.metrics.load_time((time.perf_counter() - started) * 1000)
        text = _encode(result)
        payload = self.cacheable(text, result)
        if generation is not None:
            self.write_if_current(keys, payload, seconds, generation, token, call)
        elif token:
            self.redis(call, lambda r: self.script(r, _DELETE_IF_EQUALS, [keys[2]], [token]))
        # Return what a hit returns (see the module docstring), so callers see one shape
        # whether the value came from the cache or the table. Only a value JSON cannot hold
        # is returned as the loader gave it.
        if text is None:
            return result
        kind, decoded = _decode(text)
        return decoded if kind == "value" else None

    def get(self, key):
        """The runbook's cache_get: the value, or None for no entry / cached not-found.
        One round trip reads the entry and its generation; on a miss the generation is kept
        for this thread's cache_set of the key, which then cannot write back a value that
        an update invalidated in the meantime. It never takes the load lock nor waits for
        one: a caller that does not cache_set (a 404, an error) blocks nobody."""
        keys = self.keys(key)
        call = _Call()
        try:
            self.settle_pending(key, call)
            seen = self.redis(call, lambda r: r.mget(keys[0], keys[1]))
            if seen is not _DOWN:
                raw, generation = seen
                if raw is not None:
                    value = self.decode(keys, raw, call)
                    if value is not _NONE:
                        self.metrics.count("CacheHit")
                        return value
                fills = self._fills()
                if len(fills) > 1000:
                    fills.clear()
                fills[keys[0]] = (generation or "", "")
            self.metrics.count("CacheMiss")
            return None
        finally:
            self.metrics.end_call()

    def _fills(self):
        fills = getattr(self.fills, "map", None)
        if fills is None:
            fills = self.fills.map = {}
        return fills

    def set(self, key, value, ttl=None, preset=None):
        keys = self.keys(key)
        seconds = self.ttl_seconds(ttl, preset)
        call = _Call()
        try:
            fill = self._fills().pop(keys[0], None)
            payload = self.payload(value)
            self.settle_pending(key, call)
            if fill is not None:
                return self.write_if_current(keys, payload, seconds, fill[0], fill[1], call)
            if payload is None:
                return False
            ttl_ms = self.ttl_ms(payload, seconds)
            return self.redis(call, lambda r: r.set(keys[0], payload, px=ttl_ms)) is not _DOWN
        finally:
            self.metrics.end_call()


# --- module-level API (the runbook's names) -------------------------------------------

_instance = None
_instance_lock = threading.RLock()
redis_client = None  # the runbook exposed its client under this name


def configure(env=None, client=None, metrics_sink=None, log=None, **overrides):
    """(Re)build the module's cache from env vars (default os.environ) plus overrides
    named like read_config() keys. Returns the redis client in use (or None)."""
    global _instance, redis_client
    config = read_config(env)
    config.update(overrides)
    with _instance_lock:
        _instance = _Cache(config, client=client, metrics_sink=metrics_sink, log=log)
        redis_client = _instance.client
    return redis_client


def _cache():
    if _instance is None:
        with _instance_lock:
            if _instance is None:
                configure()
    return _instance


def cache_get(key):
    """Value from cache, or None (no entry, or a cached "not found")."""
    return _cache().get(key)


def cache_set(key, value, ttl=None, preset=None):
    """Set value in cache with TTL (seconds; default CACHE_TTL_DEFAULT, 3600).
    None caches "not found" for at most CACHE_TTL_NOT_FOUND. Returns True if stored."""
    return _cache().set(key, value, ttl, preset)


def cache_delete(key):
    """Invalidate a key. Returns True if Redis confirmed; otherwise it is retried later."""
    return _cache().invalidate([key])


def cache_invalidate(*keys):
    """Invalidate several keys (e.g. an item and the list that contains it)."""
    return _cache().invalidate(list(keys))


def cache_get_or_load(key, loader, ttl=None, preset=None):
    """The cached value, or loader() cached: stampede-safe, fail-open, negative-cached."""
    return _cache().get_or_load(key, loader, ttl, preset)


def cache_decorator(key_prefix, ttl=None, preset=None):
    """Decorator for caching function results, keyed by ALL arguments."""
    _cache().ttl_seconds(ttl, preset)  # reject a bad ttl/preset at decoration time

    def decorator(func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            key = call_key(key_prefix, args, kwargs)
            return _cache().get_or_load(key, lambda: func(*args, **kwargs), ttl, preset)

        return wrapper

    return decorator


def cache_handler(func):
    """Decorate a Lambda handler to write one metrics line per invocation, not per call."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        metrics = _cache().metrics
        metrics.depth += 1
        try:
            return func(*args, **kwargs)
        finally:
            metrics.depth -= 1
            if metrics.depth == 0:
                metrics.flush()

    return wrapper


def cache_close():
    """Stop using Redis in this process: background probes end, connections close, and
    later calls go straight to their loaders. Lambda functions never need this."""
    with _instance_lock:
        if _instance is not None:
            _instance.close()


def flush_metrics():
    """Write pending metrics now (one EMF line). Returns the line as a dict, or None."""
    return _cache().metrics.flush()


def breaker_state():
    """'closed' (using Redis), 'open' (skipping it after failures) or 'half-open'."""
    return _cache().breaker.state


def redis_key(key):
    """The Redis key an entry is stored under (for redis-cli and debugging)."""
    return _cache().keys(key)[0]


def ttl_for(preset):
    """A preset's TTL in seconds, after env overrides."""
    return _cache().ttl_seconds(None, preset)
