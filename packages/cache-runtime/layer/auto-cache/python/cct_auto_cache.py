"""cct auto-cache for Python: DynamoDB reads through the cct cache, with no code change.

Installed by sitecustomize.py (see there) as a botocore ``creating-client-class.dynamodb``
handler: every DynamoDB client class (boto3 resources use one too) gets a mixin whose
``_make_request`` sees the request exactly as it goes on the wire (JSON body, after boto3's
own serialization) and returns what botocore's parser would: ``(http, parsed)``. So all
of botocore's and boto3's later work (after-call handlers, resource deserialization,
paginators) runs unchanged on cached answers too.

Contract (the README's "Zero-code caching"):
* GetItem, BatchGetItem (per item), Query and Scan (per page) are cached, unless
  ConsistentRead is true or ReturnConsumedCapacity asks for capacity (a cached answer
  consumes none, so it could not say).
* Keys: table + a generation + operation + SHA-256 of the canonical parameters. Items
  (GetItem without a projection, BatchGetItem) live under the table's item generation;
  Query and Scan pages and projected GetItems under its page generation.
* Every write (PutItem, UpdateItem, DeleteItem, BatchWriteItem, TransactWriteItems,
  PartiQL INSERT/UPDATE/DELETE, DeleteTable), after it is sent, invalidates for every
  container at once: the items it names and every page of the table (a new page
  generation). Where the written item's key cannot be told (PartiQL, a PutItem on a table
  whose key attributes no container has seen yet, DeleteTable), every item of the table
  too (a new item generation). Key attribute names are learned from the Key of any
  request on the table and shared through Redis.
* TransactGetItems and PartiQL reads go to DynamoDB.
* Everything else the helper (cache_helper) guarantees: single flight and a cross-container
  lock on a cold key, TTL jitter, negative caching of a missing item, no write-back of a
  value read before an invalidation, fail-open with a circuit breaker.

Keys and stored values are the same as the Node hook's, so Node and Python functions on
one table share entries and invalidations.
"""

import base64
import hashlib
import json
import os
import re
import sys
import threading
import time
import uuid

DEFAULT_TTL = 300  # DAX's default item and query cache TTL
GENERATION_TTL = 86400
_PREFIX = "ddb"

_logged = set()
_log_lock = threading.Lock()


def _log_once(key, message):
    with _log_lock:
        if key in _logged:
            return
        _logged.add(key)
    print("[cct-auto-cache] " + message, file=sys.stderr)


# --- settings ----------------------------------------------------------------------


def _read_ttls(raw):
    """CCT_AUTO_CACHE_TTLS: {"*": 300, "<table>": 60 | {"item": s, "query": s}}; 0 = off."""
    table_ttls = {}
    if raw and raw.strip():
        try:
            parsed = json.loads(raw)
            if not isinstance(parsed, dict):
                raise ValueError("not an object")
            for table, value in parsed.items():
                if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0:
                    table_ttls[table] = {"item": value, "query": value}
                elif isinstance(value, dict):
                    entry = {}
                    for kind in ("item", "query"):
                        seconds = value.get(kind)
                        if isinstance(seconds, (int, float)) and not isinstance(seconds, bool) and seconds >= 0:
                            entry[kind] = seconds
                    table_ttls[table] = entry
                else:
                    raise ValueError("%s: want seconds or {item, query}" % table)
        except ValueError as error:
            _log_once("ttls", "ignoring CCT_AUTO_CACHE_TTLS (%s): using %ss" % (error, DEFAULT_TTL))
            table_ttls = {}
    return table_ttls


_TTLS = _read_ttls(os.environ.get("CCT_AUTO_CACHE_TTLS"))


def ttl_for(table, kind):
    """Seconds to keep an item ("item") or a Query/Scan page ("query") of table; 0 = never."""
    for name in (table, "*"):
        entry = _TTLS.get(name)
        if entry and kind in entry:
            return entry[kind]
    return DEFAULT_TTL


# --- the helper ----------------------------------------------------------------------

_helper = None


def _cache():
    global _helper
    if _helper is None:
        try:
            import cache_helper
        except ImportError:
            # The layer's python/ folder is on Lambda's path; elsewhere find it beside us.
            sys.path.append(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))
            import cache_helper
        _helper = cache_helper
    return _helper


# --- metrics (EMF, one line per DynamoDB call that concerns the cache) ----------------

_METRICS = ("AutoCacheHit", "AutoCacheMiss", "AutoCacheBypass", "AutoCacheInvalidation")


def _emit(counts):
    env = os.environ
    if (env.get("CACHE_METRICS") or "true").strip().lower() in ("false", "0", "no", "off"):
        return
    for table, names in counts.items():
        doc = {
            "_aws": {
                "Timestamp": int(time.time() * 1000),
                "CloudWatchMetrics": [
                    {
                        "Namespace": (env.get("CACHE_METRICS_NAMESPACE") or "").strip() or "cct/cache",
                        # Per function (what cct verify counts, as it counts the helper's
                        # CacheHit/CacheMiss) and per function and table.
                        "Dimensions": [["FunctionName"], ["FunctionName", "Table"]],
                        "Metrics": [{"Name": n, "Unit": "Count"} for n in _METRICS if n in names],
                    }
                ],
            },
            "FunctionName": (env.get("AWS_LAMBDA_FUNCTION_NAME") or "local").strip(),
            "Table": table,
        }
        doc.update(names)
        sys.stdout.write(json.dumps(doc, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def _count(table, name, n=1):
    _emit({table or "?": {name: n}})


# --- wire values <-> stored JSON -----------------------------------------------------
# botocore parses blobs (B, BS) to bytes; stored entries hold them as base64, like
# DynamoDB's own JSON, so Node and Python read each other's entries.


def _av_out(av):
    if "B" in av:
        return {"B": base64.b64encode(av["B"]).decode("ascii")}
    if "BS" in av:
        return {"BS": [base64.b64encode(b).decode("ascii") for b in av["BS"]]}
    if "L" in av:
        return {"L": [_av_out(v) for v in av["L"]]}
    if "M" in av:
        return {"M": _map_out(av["M"])}
    return av


def _av_in(av):
    if "B" in av:
        return {"B": base64.b64decode(av["B"])}
    if "BS" in av:
        return {"BS": [base64.b64decode(b) for b in av["BS"]]}
    if "L" in av:
        return {"L": [_av_in(v) for v in av["L"]]}
    if "M" in av:
        return {"M": _map_in(av["M"])}
    return av


def _map_out(item):
    return {k: _av_out(v) for k, v in item.items()}


def _map_in(item):
    return {k: _av_in(v) for k, v in item.items()}


_PAGE_FIELDS = ("Items", "Count", "ScannedCount", "LastEvaluatedKey")


def _convert_page(source, map_item):
    """A Query/Scan page's fields, each item and the last key converted by `map_item`."""
    page = {}
    for field in _PAGE_FIELDS:
        if field in source:
            value = source[field]
            if field == "Items":
                value = [map_item(i) for i in value]
            elif field == "LastEvaluatedKey":
                value = map_item(value)
            page[field] = value
    return page


def _page_out(parsed):
    return _convert_page(parsed, _map_out)


def _page_in(page):
    return _convert_page(page, _map_in)


# --- keys ----------------------------------------------------------------------------


def _stable(value):
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


_NUMBER = re.compile(r"^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$")


def canonical_number(text):
    """DynamoDB's one value of a number however it is written: "1", "1.0", "+01" and "1e0"
    name the same item. The same digits as the Node hook's canonicalNumber."""
    m = _NUMBER.match(text.strip())
    if not m or not (m.group(2) or m.group(3)):
        return text
    whole, frac = m.group(2) or "", m.group(3) or ""
    digits = (whole + frac).lstrip("0")
    if not digits:
        return "0"
    exponent = int(m.group(4) or 0) - len(frac)
    significant = digits.rstrip("0")
    exponent += len(digits) - len(significant)
    if exponent >= 0:
        plain = significant + "0" * exponent
    else:
        point = len(significant) + exponent
        plain = "0." + "0" * -point + significant if point <= 0 else significant[:point] + "." + significant[point:]
    return ("-" if m.group(1) == "-" else "") + plain


def canonical_key(key):
    """A Key (or an item's key attributes) with its numbers in one spelling: an entry filled
    under one spelling is found, and evicted, under any other."""
    return {
        name: {"N": canonical_number(value["N"])} if isinstance(value, dict) and isinstance(value.get("N"), str)
        else value
        for name, value in key.items()
    }


def entry_key(table, generation, kind, params):
    if kind == "item" and isinstance(params.get("Key"), dict):
        params = dict(params, Key=canonical_key(params["Key"]))
    digest = hashlib.sha256(_stable(params).encode("utf-8")).hexdigest()
    return "%s:%s:%s:%s:%s" % (_PREFIX, table, generation, kind, digest)


def generation_key(table):
    """The table's page generation: Query and Scan pages, projected GetItems."""
    return "%s:%s:gen" % (_PREFIX, table)


def item_generation_key(table):
    """The table's item generation: GetItem and BatchGetItem entries of whole items."""
    return "%s:%s:igen" % (_PREFIX, table)


def key_names_key(table):
    """The table's key attribute names, as any container learned them from a Key."""
    return "%s:%s:keys" % (_PREFIX, table)


def _generation(key):
    """A generation's current value (a new one when there is none: the read that makes it
    fills the first entry under it), or None if Redis gave something else."""
    generation = _cache().cache_get_or_load(key, lambda: uuid.uuid4().hex, ttl=GENERATION_TTL)
    return generation if isinstance(generation, str) else None


_key_names = {}  # table -> sorted key attribute names, in this container


def learn_key(table, key):
    """A request's Key names the table's key attributes exactly (DynamoDB wants all of
    them and nothing else): kept here, and shared once so a PutItem elsewhere can tell
    which item it writes."""
    if not table or not isinstance(key, dict) or not key:
        return
    names = sorted(key)
    if _key_names.get(table) == names:
        return
    _key_names[table] = names
    try:
        _cache().cache_set(key_names_key(table), names, ttl=GENERATION_TTL)
    except Exception as error:
        _log_once("learn-key", "could not share the key of %s: %r" % (table, error))


def key_of(table, item):
    """The key of a whole item about to be written, or None when it cannot be told."""
    names = _key_names.get(table)
    if names is None:
        try:
            shared = _cache().cache_get(key_names_key(table))
        except Exception:
            shared = None
        if not isinstance(shared, list) or not shared:
            return None
        names = _key_names[table] = sorted(shared)
    if not isinstance(item, dict) or not all(n in item for n in names):
        return None
    return {n: item[n] for n in names}


def invalidate(targets):
    """After a write: targets are (table, key), key None when the item cannot be told."""
    by_table = {}
    for table, key in targets:
        if table:
            by_table.setdefault(table, []).append(key)
    for table in sorted(by_table):
        keys = by_table[table]
        try:
            helper = _cache()
            item_generation = None if None in keys else helper.cache_get(item_generation_key(table))
            if isinstance(item_generation, str):
                doomed = [entry_key(table, item_generation, "item", {"Key": k}) for k in keys]
            else:
                # Not told (or Redis did not answer): every item of the table. The helper
                # replays an invalidation Redis missed, so nothing stale outlives an outage.
                doomed = [item_generation_key(table)]
            helper.cache_invalidate(generation_key(table), *doomed)
            _count(table, "AutoCacheInvalidation")
        except Exception as error:  # fail open: the write already happened
            _log_once("invalidate", "could not invalidate %s: %r" % (table, error))


# --- responses -----------------------------------------------------------------------


class _Passthrough(Exception):
    """DynamoDB answered with an error: hand its answer back, cache nothing."""

    def __init__(self, answer):
        Exception.__init__(self, "passthrough")
        self.answer = answer


def _answer_from_cache(parsed):
    from botocore.awsrequest import AWSResponse

    request_id = uuid.uuid4().hex.upper()
    headers = {
        "content-type": "application/x-amz-json-1.0",
        "x-amzn-requestid": request_id,
        "x-cct-cache": "hit",
    }
    parsed["ResponseMetadata"] = {
        "RequestId": request_id,
        "HTTPStatusCode": 200,
        "HTTPHeaders": dict(headers),
        "RetryAttempts": 0,
    }
    return AWSResponse(None, 200, headers, None), parsed


def _wants_capacity(body):
    return body.get("ReturnConsumedCapacity") not in (None, "NONE")


def _bypass(table, send):
    _count(table, "AutoCacheBypass")
    return send(None)


def _through_cache(table, key, ttl, to_value, from_value, send):
    """One entry through the helper; DynamoDB's own answer when we loaded it."""
    answers = []

    def load():
        answer = send(None)
        answers.append(answer)
        if answer[0].status_code >= 300:
            raise _Passthrough(answer)
        return to_value(answer[1])

    try:
        value = _cache().cache_get_or_load(key, load, ttl=ttl)
    except _Passthrough as passthrough:
        return passthrough.answer
    if answers:
        _count(table, "AutoCacheMiss")
        return answers[0]
    _count(table, "AutoCacheHit")
    return _answer_from_cache(from_value(value))


_ITEM_PARAMS = ("Key", "ProjectionExpression", "ExpressionAttributeNames", "AttributesToGet")


def _get_item(body, send):
    table = body.get("TableName")
    ttl = ttl_for(table, "item")
    learn_key(table, body.get("Key"))
    if body.get("ConsistentRead") or _wants_capacity(body) or not ttl:
        return _bypass(table, send)
    params = {k: body[k] for k in _ITEM_PARAMS if k in body}
    # A projection is a part of the item a write's key cannot name: it follows the pages.
    whole = list(params) == ["Key"]
    generation = _generation(item_generation_key(table) if whole else generation_key(table))
    if generation is None:
        _count(table, "AutoCacheMiss")
        return send(None)
    key = entry_key(table, generation, "item", params)

    def to_value(parsed):
        item = parsed.get("Item")
        return None if item is None else _map_out(item)  # None: negative-cached briefly

    def from_value(value):
        return {} if value is None else {"Item": _map_in(value)}

    return _through_cache(table, key, ttl, to_value, from_value, send)


def _page(kind):
    def read(body, send):
        table = body.get("TableName")
        ttl = ttl_for(table, "query")
        if body.get("ConsistentRead") or _wants_capacity(body) or not ttl:
            return _bypass(table, send)
        generation = _generation(generation_key(table))
        if generation is None:
            _count(table, "AutoCacheMiss")
            return send(None)
        params = {k: v for k, v in body.items() if k not in ("TableName", "ConsistentRead", "ReturnConsumedCapacity")}
        key = entry_key(table, generation, kind, params)
        return _through_cache(table, key, ttl, _page_out, _page_in, send)

    return read


def _same_key(item, key):
    wanted = canonical_key(key)
    return canonical_key({name: item.get(name) for name in key}) == wanted


def _batch_get(body, send):
    request = body.get("RequestItems") or {}
    if _wants_capacity(body):
        for table in request:
            _count(table, "AutoCacheBypass")
        return send(None)
    helper = _cache()
    plans = {}  # table -> {"keys": [(key, entry_key, value or None)], ...}
    forward = {}
    for table, spec in request.items():
        ttl = ttl_for(table, "item")
        cacheable = ttl and not spec.get("ConsistentRead") and not any(
            k in spec for k in ("ProjectionExpression", "AttributesToGet")
        )
        for key in spec.get("Keys") or []:
            learn_key(table, key)
        generation = _generation(item_generation_key(table)) if cacheable else None
        if not cacheable or generation is None:
            _count(table, "AutoCacheBypass" if not cacheable else "AutoCacheMiss", len(spec.get("Keys") or []) or 1)
            forward[table] = spec
            plans[table] = None
            continue
        rows, missing = [], []
        for key in spec.get("Keys") or []:
            ekey = entry_key(table, generation, "item", {"Key": key})
            # cache_get: None is "no entry" or "cached not found"; either way we ask
            # DynamoDB, and the miss holds the load lock and the generation for cache_set.
            value = helper.cache_get(ekey)
            rows.append([key, ekey, value])
            if value is None:
                missing.append(key)
        hits = len(rows) - len(missing)
        counts = {}
        if hits:
            counts["AutoCacheHit"] = hits
        if missing:
            counts["AutoCacheMiss"] = len(missing)
            forward[table] = dict(spec, Keys=missing)
        _emit({table: counts})
        plans[table] = {"rows": rows, "ttl": ttl}

    fetched = {"Responses": {}, "UnprocessedKeys": {}}
    http = None
    if forward:
        forwarded = dict(body, RequestItems=forward)
        http, fetched = send(json.dumps(forwarded).encode("utf-8"))
        if http.status_code >= 300:
            return http, fetched

    responses = {}
    for table in request:
        plan = plans[table]
        got = (fetched.get("Responses") or {}).get(table)
        if plan is None:
            if got is not None:
                responses[table] = got
            continue
        unprocessed = ((fetched.get("UnprocessedKeys") or {}).get(table) or {}).get("Keys") or []
        items = []
        for key, ekey, value in plan["rows"]:
            if value is not None:
                items.append(_map_in(value))
                continue
            found = next((i for i in (got or []) if _same_key(_map_out(i), key)), None)
            if found is not None:
                items.append(found)
                helper.cache_set(ekey, _map_out(found), ttl=plan["ttl"])
            elif not any(_same_key(u, key) for u in unprocessed):
                helper.cache_set(ekey, None, ttl=plan["ttl"])  # not found: negative entry
        if items or got is not None or table not in forward:
            responses[table] = items
    parsed = {"Responses": responses, "UnprocessedKeys": fetched.get("UnprocessedKeys") or {}}
    if "ConsumedCapacity" in fetched:
        parsed["ConsumedCapacity"] = fetched["ConsumedCapacity"]
    if http is not None:
        parsed["ResponseMetadata"] = fetched.get("ResponseMetadata")
        return http, parsed
    return _answer_from_cache(parsed)


# --- writes --------------------------------------------------------------------------

_STATEMENT = re.compile(
    r'^\s*(?:(?P<write>insert\s+into|update|delete\s+from|upsert\s+into)|(?P<read>select|exists))\b', re.I
)
_WRITE_TABLE = re.compile(
    r'^\s*(?:insert\s+into|update|delete\s+from|upsert\s+into)\s+("(?:[^"]|"")+"|[A-Za-z0-9_.\-]+)', re.I
)


def statement_write_table(statement):
    """The table a PartiQL statement writes, None for a read; '' when it cannot be told."""
    if not isinstance(statement, str) or not _STATEMENT.match(statement) or _STATEMENT.match(statement).group("read"):
        return None
    match = _WRITE_TABLE.match(statement)
    if not match:
        _log_once("partiql", "cannot tell the table of a PartiQL write; its cached reads age out by TTL")
        return ""
    name = match.group(1)
    return name[1:-1].replace('""', '"') if name.startswith('"') else name


def _written_item(table, key=None, item=None):
    """(table, the written item's key or None): a Key names it; a whole Item does once the
    table's key attributes are known."""
    if key is not None:
        learn_key(table, key)
        return table, key
    return table, key_of(table, item)


def written_items(operation, body):
    """What a write can change, as (table, key) pairs; key None means any item of table."""
    table = body.get("TableName")
    if operation == "PutItem":
        return [_written_item(table, item=body.get("Item"))]
    if operation in ("UpdateItem", "DeleteItem"):
        return [_written_item(table, key=body.get("Key"))]
    if operation == "DeleteTable":
        _key_names.pop(table, None)
        return [(table, None)]
    if operation == "BatchWriteItem":
        targets = []
        for name, requests in (body.get("RequestItems") or {}).items():
            for request in requests or [{}]:
                put, delete = request.get("PutRequest"), request.get("DeleteRequest")
                if delete is not None:
                    targets.append(_written_item(name, key=delete.get("Key")))
                else:
                    targets.append(_written_item(name, item=(put or {}).get("Item")))
        return targets
    if operation == "TransactWriteItems":
        targets = []
        for entry in body.get("TransactItems") or []:
            for kind, part in entry.items():
                if kind == "ConditionCheck" or not isinstance(part, dict) or not part.get("TableName"):
                    continue  # a condition check writes nothing
                if kind == "Put":
                    targets.append(_written_item(part["TableName"], item=part.get("Item")))
                else:
                    targets.append(_written_item(part["TableName"], key=part.get("Key")))
        return targets
    statements = []
    if operation == "ExecuteStatement":
        statements = [body.get("Statement")]
    elif operation == "BatchExecuteStatement":
        statements = [s.get("Statement") for s in body.get("Statements") or []]
    elif operation == "ExecuteTransaction":
        statements = [s.get("Statement") for s in body.get("TransactStatements") or []]
    return [(t, None) for t in (statement_write_table(s) for s in statements) if t]


def _write(operation):
    def write(body, send):
        targets = written_items(operation, body)
        if not targets:  # PartiQL reads
            return send(None)
        try:
            return send(None)
        finally:
            # After the write (also a failed or timed-out one, which may have happened):
            # a read that started before it cannot write back what it read (the helper's
            # per-entry invalidation), nor be found under the old generation.
            invalidate(targets)

    return write


def _transact_get(body, send):
    for entry in body.get("TransactItems") or []:
        _count((entry.get("Get") or {}).get("TableName"), "AutoCacheBypass")
    return send(None)


ROUTES = {
    "GetItem": _get_item,
    "BatchGetItem": _batch_get,
    "Query": _page("query"),
    "Scan": _page("scan"),
    "TransactGetItems": _transact_get,
}
for _op in ("PutItem", "UpdateItem", "DeleteItem", "DeleteTable", "BatchWriteItem", "TransactWriteItems",
            "ExecuteStatement", "BatchExecuteStatement", "ExecuteTransaction"):
    ROUTES[_op] = _write(_op)


class AutoCacheMixin(object):
    """First base of every DynamoDB client class: reads through the cache, writes invalidate."""

    def _make_request(self, operation_model, request_dict, request_context):
        parent = super(AutoCacheMixin, self)._make_request

        sent = []

        def send(body):
            sent.append(True)
            rd = request_dict
            if body is not None:
                rd = dict(request_dict, body=body)
                rd["headers"] = {k: v for k, v in request_dict.get("headers", {}).items() if k.lower() != "content-length"}
            return parent(operation_model, rd, request_context)

        route = ROUTES.get(operation_model.name)
        if route is None:
            return send(None)
        try:
            body = json.loads(request_dict.get("body") or b"{}")
        except (TypeError, ValueError):
            return send(None)
        try:
            return route(body, send)
        except Exception as error:
            if sent:  # DynamoDB's own error (or the network's): the caller's to see
                raise
            # A fault of ours before anything went out: fail open, as the helper does.
            _log_once("route-" + operation_model.name, "%s not cached: %r" % (operation_model.name, error))
            return send(None)


def _add_mixin(class_attributes=None, base_classes=None, **kwargs):
    if base_classes is not None and AutoCacheMixin not in base_classes:
        base_classes.insert(0, AutoCacheMixin)


_installed = False


def install(handlers_module):
    """Register for every botocore Session created from now on (sitecustomize calls this)."""
    global _installed
    if _installed:
        return
    _installed = True
    handlers_module.BUILTIN_HANDLERS.append(("creating-client-class.dynamodb", _add_mixin))
