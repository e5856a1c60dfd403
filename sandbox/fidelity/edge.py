"""The AWS endpoints and "the internet" as the functions' network sees them.

Inside a function the AWS SDKs use their normal endpoints over HTTPS
(https://dynamodb.us-east-1.amazonaws.com, "Service endpoints", AWS General Reference);
network.py routes those names to this edge: an HTTPS listener and a plain HTTP one on
127.0.0.1, in the moto process. Certificates come from the sandbox CA (certs.py), one per
name the client asks for (TLS SNI), so clients verify them as they verify AWS's.

- A request whose Host is *.amazonaws.com goes to moto (which dispatches by Host and the
  SigV4 credential scope), through the fidelity middleware like any other request.
- Any other Host is "the internet": a stand-in that answers 200 with a tiny body (an RSS
  document for a path ending in .xml, JSON otherwise).
- DynamoDB requests are metered as DynamoDB meters them ("Read/write capacity mode" and
  "Item sizes and formats", DynamoDB Developer Guide) and published to AWS/DynamoDB
  ConsumedReadCapacityUnits / ConsumedWriteCapacityUnits per TableName (plus
  GlobalSecondaryIndexName for a query of a GSI):
    * reads: item size rounded up to 4 KB = 1 unit strongly consistent, 0.5 eventually
      consistent; GetItem of a missing item still costs the minimum; Query and Scan add
      the sizes of all items read and round the sum up once (minimum one unit);
      BatchGetItem rounds each item separately; TransactGetItems costs 2 units per 4 KB;
    * writes: the larger of the item's size before and after, rounded up to 1 KB (minimum
      1); BatchWriteItem per item; TransactWriteItems 2 units per 1 KB; a write whose
      condition fails still consumes;
    * item size: the lengths of attribute names plus values (strings UTF-8, numbers about
      one byte per two significant digits plus one, binary its bytes, booleans and nulls
      one byte, lists and maps 3 bytes plus one per element).
  Sizes are those of the whole stored item (read from moto's table around the request),
  so projections do not lower the cost, as on DynamoDB. A Scan/Query filter is applied
  after the read on DynamoDB; moto answers only the matching items, so a filtered Query
  or Scan is metered on the items returned (an undercount).
- A plain counter per table and operation: GET /cct-fidelity/dynamodb-requests.
  GET /cct-fidelity/edge answers the ports.
"""

from __future__ import annotations

import base64
import io
import json
import math
import re
import ssl
import threading
from typing import Any, Callable

from . import certs, core

_servers: dict[str, Any] = {}
_contexts: dict[str, ssl.SSLContext] = {}
_ctx_lock = threading.Lock()
_requests: dict[str, dict[str, int]] = {}
_capacity: dict[str, dict[str, float]] = {}


def patch() -> None:
    start()


# -- the listeners ---------------------------------------------------------------------------

def _context_for(name: str) -> ssl.SSLContext:
    name = (name or "127.0.0.1").lower().rstrip(".")
    with _ctx_lock:
        ctx = _contexts.get(name)
        if ctx is None:
            certfile, keyfile = certs.leaf([name])
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(certfile, keyfile)
            ctx.set_alpn_protocols(["http/1.1"])
            _contexts[name] = ctx
        return ctx


def _server_context() -> ssl.SSLContext:
    base = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    certfile, keyfile = certs.leaf(["127.0.0.1", "localhost"])
    base.load_cert_chain(certfile, keyfile)
    base.set_alpn_protocols(["http/1.1"])

    def sni(sock: ssl.SSLObject, name: str | None, _ctx: ssl.SSLContext) -> None:
        if name:
            sock.context = _context_for(name)

    base.sni_callback = sni  # type: ignore[assignment]
    return base


def start() -> tuple[int, int]:
    """Start both listeners once (daemon threads: they end with the process)."""
    if "https" in _servers:
        return ports()
    import socketserver

    class Server(socketserver.ThreadingTCPServer):
        daemon_threads = True
        allow_reuse_address = True
        tls: ssl.SSLContext | None = None

        def finish_request(self, request: Any, client_address: Any) -> None:
            # The TLS handshake in the connection's own thread, never in the accept loop.
            if self.tls is None:
                return super().finish_request(request, client_address)
            try:
                request.settimeout(30)
                wrapped = self.tls.wrap_socket(request, server_side=True)
                wrapped.settimeout(None)
            except (OSError, ssl.SSLError):
                return
            try:
                super().finish_request(wrapped, client_address)
            finally:
                try:
                    wrapped.close()
                except OSError:
                    pass

    app = _edge_app(_moto_app())
    for kind in ("https", "http"):
        server = Server(("127.0.0.1", 0), _keep_alive_handler(app, kind))
        if kind == "https":
            server.tls = _server_context()
        thread = threading.Thread(target=server.serve_forever, name=f"cct-edge-{kind}", daemon=True)
        thread.start()
        _servers[kind] = server
    return ports()


# How long an idle connection stays open (AWS endpoints close idle ones after about a minute).
IDLE_SECONDS = 60.0
# How often an idle connection looks at the network generation (network.py).
_POLL_SECONDS = 0.2
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length"}


def _keep_alive_handler(app: Callable[..., Any], scheme: str) -> Any:
    """HTTP/1.1 with keep-alive, as AWS endpoints answer: SDKs reuse a connection, and each
    new one costs a function a TLS handshake and loading its CA bundle (most of a warm
    request's CPU here before). A connection ends when idle for IDLE_SECONDS, or once the
    network changes (network.generation): the function's next connect then meets the
    network as it is now, as a flow through a removed route would stop on AWS."""
    import http.server
    import select

    from . import network

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def handle(self) -> None:
            generation = network.generation
            self.close_connection = False
            while not self.close_connection and self._next_request(generation):
                self.handle_one_request()
                if network.generation != generation:
                    break

        def _next_request(self, generation: int) -> bool:
            # Clients do not pipeline: after a whole answer, the next request is on the socket.
            idle = 0.0
            conn = self.connection
            while idle < IDLE_SECONDS:
                pending = isinstance(conn, ssl.SSLSocket) and conn.pending() > 0
                readable = pending or bool(select.select([conn], [], [], _POLL_SECONDS)[0])
                # A request that reaches a connection made before the network changed is not
                # answered (the client reconnects, and its connect meets the network as it is):
                # checked when the request is there, not only between polls, so none slips in.
                if network.generation != generation:
                    return False
                if readable:
                    return True
                idle += _POLL_SECONDS
            return False

        def _wsgi(self) -> None:
            body = self._body()
            environ = {
                "REQUEST_METHOD": self.command,
                "SCRIPT_NAME": "",
                "PATH_INFO": self.path.split("?", 1)[0],
                "QUERY_STRING": self.path.split("?", 1)[1] if "?" in self.path else "",
                "RAW_URI": self.path,
                "REQUEST_URI": self.path,
                "SERVER_NAME": "127.0.0.1",
                "SERVER_PORT": str(self.server.server_address[1]),
                "SERVER_PROTOCOL": self.request_version,
                "REMOTE_ADDR": self.client_address[0],
                "CONTENT_TYPE": self.headers.get("Content-Type", ""),
                "CONTENT_LENGTH": str(len(body)),
                "wsgi.input": io.BytesIO(body),
                "wsgi.errors": io.StringIO(),
                "wsgi.url_scheme": scheme,
                "wsgi.version": (1, 0),
                "wsgi.multithread": True,
                "wsgi.multiprocess": False,
                "wsgi.run_once": False,
            }
            for name, value in self.headers.items():
                key = "HTTP_" + name.upper().replace("-", "_")
                if key not in ("HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH"):
                    environ[key] = f"{environ[key]},{value}" if key in environ else value
            answer: list[Any] = []

            def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
                answer[:] = [status, headers]
                return lambda data: None

            data = core.body_of(app(environ, start_response))
            status, headers = answer
            code, _, reason = status.partition(" ")
            self.send_response(int(code), reason)
            for name, value in headers:
                if name.lower() not in _HOP_BY_HOP:
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        def _body(self) -> bytes:
            if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
                parts = []
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                            pass
                        return b"".join(parts)
                    parts.append(self.rfile.read(size))
                    self.rfile.readline()
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = _wsgi

    return Handler


def ports() -> tuple[int, int]:
    """(https port, http port) of the edge on 127.0.0.1."""
    if "https" not in _servers:
        start()
    return _servers["https"].socket.getsockname()[1], _servers["http"].socket.getsockname()[1]


def _moto_app() -> Callable[..., Any]:
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    from . import wrap_app

    return wrap_app(DomainDispatcherApplication(create_backend_app))


def _edge_app(moto: Callable[..., Any]) -> Callable[..., Any]:
    def app(environ: dict[str, Any], start_response: Any) -> Any:
        host = (environ.get("HTTP_HOST") or "").rsplit(":", 1)[0].lower().rstrip(".")
        if host.endswith(".amazonaws.com"):
            target = environ.get("HTTP_X_AMZ_TARGET", "")
            if target.startswith("DynamoDB_20120810."):
                return _dynamodb(moto, environ, start_response, target.split(".", 1)[1])
            return moto(environ, start_response)
        return _internet(environ, start_response, host)

    return app


# -- the stand-in internet ----------------------------------------------------------------------

def _internet(environ: dict[str, Any], start_response: Any, host: str) -> list[bytes]:
    path = environ.get("PATH_INFO", "/")
    if path.endswith(".xml") or path.endswith(".rss"):
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>'
            f"<title>{host}</title><link>https://{host}/</link><description>cct sandbox stand-in feed</description>"
            f"<item><title>Sandbox headline</title><link>https://{host}/news/1</link>"
            "<guid>sandbox-1</guid></item></channel></rss>\n"
        ).encode()
        ctype = "application/rss+xml"
    else:
        body = json.dumps({"host": host, "path": path, "sandbox": "stand-in internet"}).encode()
        ctype = "application/json"
    start_response("200 OK", [("Content-Type", ctype), ("Content-Length", str(len(body)))])
    return [body] if environ.get("REQUEST_METHOD") != "HEAD" else [b""]


# -- DynamoDB metering --------------------------------------------------------------------------

def _num_size(text: str) -> int:
    digits = re.sub(r"[^0-9]", "", text.split("e")[0].split("E")[0]).strip("0") or "0"
    return (len(digits) + 1) // 2 + 1


def value_size(v: dict[str, Any]) -> int:
    """Size of one DynamoDB JSON value ("Item sizes and formats")."""
    (t, x), = v.items()
    if t == "S":
        return len(x.encode())
    if t == "N":
        return _num_size(str(x))
    if t == "B":
        return len(base64.b64decode(x)) if isinstance(x, str) else len(x)
    if t in ("SS", "NS", "BS"):
        return sum(value_size({t[0]: e}) for e in x)
    if t in ("BOOL", "NULL"):
        return 1
    if t == "L":
        return 3 + sum(value_size(e) + 1 for e in x)
    if t == "M":
        return 3 + sum(len(k.encode()) + value_size(e) + 1 for k, e in x.items())
    return len(json.dumps(x))


def item_size(item: dict[str, Any] | None) -> int:
    return sum(len(k.encode()) + value_size(v) for k, v in (item or {}).items())


def read_units(size: int, consistent: bool) -> float:
    units = max(1, math.ceil(size / 4096))
    return float(units) if consistent else units / 2


def write_units(size: int) -> float:
    return float(max(1, math.ceil(size / 1024)))


def _stored(backend: Any, table: str, key: dict[str, Any]) -> dict[str, Any] | None:
    from moto.dynamodb.models.utilities import DynamoJsonEncoder

    try:
        item = backend.get_item(table, key)
    except Exception:
        return None
    if item is None:
        return None
    return json.loads(json.dumps(item.to_json(), cls=DynamoJsonEncoder)).get("Attributes")


def _key_of(backend: Any, table: str, item: dict[str, Any]) -> dict[str, Any]:
    try:
        t = backend.get_table(table)
    except Exception:
        return {}
    key = {t.hash_key_attr: item.get(t.hash_key_attr)}
    if t.range_key_attr:
        key[t.range_key_attr] = item.get(t.range_key_attr)
    return key if all(v is not None for v in key.values()) else {}


def _writes(body: dict[str, Any], op: str) -> list[tuple[str, dict[str, Any], int]]:
    """(table, key, multiplier) of every item a write request touches."""
    out: list[tuple[str, dict[str, Any], int]] = []
    if op in ("PutItem", "UpdateItem", "DeleteItem"):
        out.append((body.get("TableName", ""), body.get("Key") or body.get("Item") or {}, 1))
    elif op == "BatchWriteItem":
        for table, reqs in (body.get("RequestItems") or {}).items():
            for r in reqs:
                if "PutRequest" in r:
                    out.append((table, r["PutRequest"].get("Item") or {}, 1))
                elif "DeleteRequest" in r:
                    out.append((table, r["DeleteRequest"].get("Key") or {}, 1))
    elif op == "TransactWriteItems":
        for t in body.get("TransactItems") or []:
            for kind in ("Put", "Update", "Delete", "ConditionCheck"):
                if kind in t:
                    part = t[kind]
                    out.append((part.get("TableName", ""), part.get("Key") or part.get("Item") or {}, 2))
    return out


def _meter(backend: Any, op: str, body: dict[str, Any], answer: dict[str, Any],
           before: list[tuple[str, int, int]], after: list[int],
           whole: list[dict[str, Any]] | None = None) -> dict[tuple[str, str | None], list[float]]:
    """{(table, gsi): [read units, write units]} for one request."""
    out: dict[tuple[str, str | None], list[float]] = {}

    def add(table: str, read: float = 0.0, write: float = 0.0, index: str | None = None) -> None:
        slot = out.setdefault((table, index), [0.0, 0.0])
        slot[0] += read
        slot[1] += write

    if op == "GetItem":
        table = body.get("TableName", "")
        stored = _stored(backend, table, body.get("Key") or {}) if "Item" in answer else None
        add(table, read_units(item_size(stored or answer.get("Item")), bool(body.get("ConsistentRead"))))
    elif op in ("Query", "Scan"):
        table = body.get("TableName", "")
        # A projection does not lower the cost: the whole items are read (`whole`: the same
        # request without projection; an index query reads the index's own entries).
        items = whole if whole is not None else answer.get("Items") or []
        size = sum(item_size(item) for item in items)
        index = body.get("IndexName")
        gsi = None
        if index:
            try:
                gsi = index if any(i.name == index for i in backend.get_table(table).global_indexes) else None
            except Exception:
                gsi = None
        add(table, read_units(size, bool(body.get("ConsistentRead")) and not gsi), index=gsi)
    elif op == "BatchGetItem":
        unprocessed = answer.get("UnprocessedKeys") or {}
        for table, req in (body.get("RequestItems") or {}).items():
            skipped = (unprocessed.get(table) or {}).get("Keys") or []
            consistent = bool(req.get("ConsistentRead"))
            for key in req.get("Keys") or []:
                if key not in skipped:  # each item on its own, a missing one at the minimum
                    add(table, read_units(item_size(_stored(backend, table, key)), consistent))
    elif op == "TransactGetItems":
        for t in body.get("TransactItems") or []:
            get = t.get("Get") or {}
            table = get.get("TableName", "")
            stored = _stored(backend, table, get.get("Key") or {})
            add(table, 2 * read_units(item_size(stored), True))
    else:
        for (table, size_before, mult), size_after in zip(before, after):
            add(table, write=mult * write_units(max(size_before, size_after)))
    return out


_READ_OPS = {"GetItem", "Query", "Scan", "BatchGetItem", "TransactGetItems"}
_WRITE_OPS = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}


def _account_region(environ: dict[str, Any]) -> tuple[str, str]:
    """The caller's account and region as moto derives them: the SigV4 credential scope."""
    found = re.search(r"Credential=([^/]+)/\d+/([^/]+)/", environ.get("HTTP_AUTHORIZATION", ""))
    if not found:
        return "123456789012", "us-east-1"
    from moto.iam.models import get_account_id_from

    return get_account_id_from(found.group(1)), found.group(2)


def _dynamodb(moto: Callable[..., Any], environ: dict[str, Any], start_response: Any, op: str) -> list[bytes]:
    from moto.dynamodb.models import dynamodb_backends

    size = int(environ.get("CONTENT_LENGTH") or 0)
    raw = environ["wsgi.input"].read(size) if size else b""
    environ["wsgi.input"] = io.BytesIO(raw)
    try:
        body = json.loads(raw or b"{}")
    except ValueError:
        body = {}
    status_holder: list[str] = []

    def capture(status: str, headers: Any, exc_info: Any = None) -> Any:
        status_holder.append(status)
        return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

    account, region = _account_region(environ)
    with core.lock:
        backend = dynamodb_backends[account][region]
        writes = _writes(body, op) if op in _WRITE_OPS else []
        before = []
        for table, key, mult in writes:
            k = _key_of(backend, table, key) if key else {}
            before.append((table, item_size(_stored(backend, table, k)) if k else 0, mult))
        result = moto(environ, capture)
        chunks = b"".join(result)
        if hasattr(result, "close"):
            result.close()
        after = []
        for table, key, _mult in writes:
            k = _key_of(backend, table, key) if key else {}
            after.append(item_size(_stored(backend, table, k)) if k else 0)
        status = status_holder[0] if status_holder else "500"
        try:
            answer = json.loads(chunks or b"{}")
        except ValueError:
            answer = {}
        failed_condition = "ConditionalCheckFailed" in str(answer.get("__type", ""))
        whole = None
        if op in ("Query", "Scan") and status.startswith("200") and not body.get("IndexName") and (
                body.get("ProjectionExpression") or body.get("AttributesToGet") or body.get("Select")):
            whole = _without_projection(moto, environ, body)
        if status.startswith("200") or failed_condition:
            tables = {body.get("TableName", "")} if body.get("TableName") else set(
                (body.get("RequestItems") or {}).keys()) or {
                (t.get(k) or {}).get("TableName", "") for t in body.get("TransactItems") or [] for k in t}
            for table in tables:
                _requests.setdefault(table, {})
                _requests[table][op] = _requests[table].get(op, 0) + 1
            if op in _READ_OPS or op in _WRITE_OPS:
                for (table, gsi), (read, write) in _meter(backend, op, body, answer, before, after, whole).items():
                    _publish(account, region, table, gsi, read, write)
    return [chunks]


def _without_projection(moto: Callable[..., Any], environ: dict[str, Any], body: dict[str, Any]) -> list[Any] | None:
    """The items a projected Query/Scan read in whole: the same request to moto without
    ProjectionExpression/AttributesToGet/Select (not counted; None if moto refuses it)."""
    plain = {k: v for k, v in body.items() if k not in ("ProjectionExpression", "AttributesToGet", "Select")}
    names = plain.get("ExpressionAttributeNames")
    if names:
        used = json.dumps({k: v for k, v in plain.items() if k != "ExpressionAttributeNames"})
        plain["ExpressionAttributeNames"] = {k: v for k, v in names.items() if k in used}
        if not plain["ExpressionAttributeNames"]:
            del plain["ExpressionAttributeNames"]
    data = json.dumps(plain).encode()
    shadow = dict(environ, **{"wsgi.input": io.BytesIO(data), "CONTENT_LENGTH": str(len(data))})
    statuses: list[str] = []
    result = moto(shadow, lambda status, headers, exc_info=None: statuses.append(status))
    raw = b"".join(result)
    if hasattr(result, "close"):
        result.close()
    if not statuses or not statuses[0].startswith("200"):
        return None
    try:
        return json.loads(raw).get("Items") or []
    except ValueError:
        return None


def _publish(account: str, region: str, table: str, gsi: str | None, read: float, write: float) -> None:
    dims = {"TableName": table}
    if gsi:
        dims["GlobalSecondaryIndexName"] = gsi
    total = _capacity.setdefault(table if not gsi else f"{table}/{gsi}", {"read": 0.0, "write": 0.0})
    if read:
        total["read"] += read
        core.put_metric(account, region, "AWS/DynamoDB", "ConsumedReadCapacityUnits", dims, read, "Count")
    if write:
        total["write"] += write
        core.put_metric(account, region, "AWS/DynamoDB", "ConsumedWriteCapacityUnits", dims, write, "Count")


def on_reset() -> None:
    _requests.clear()
    _capacity.clear()


def route(environ: dict[str, Any], start_response: Any) -> list[bytes] | None:
    path = environ.get("PATH_INFO")
    if path == "/cct-fidelity/dynamodb-requests":
        with core.lock:
            body = {"requests": json.loads(json.dumps(_requests)), "capacity": json.loads(json.dumps(_capacity))}
        return core.json_response(start_response, "200 OK", body)
    if path == "/cct-fidelity/edge":
        https, http = ports()
        return core.json_response(start_response, "200 OK", {"https": https, "http": http})
    return None
