"""Lambda's control-plane rate limits: TooManyRequestsException above a rate, per account.

AWS ("Lambda quotas", API request rate quotas; the same per account and Region, not per
function, and not increasable):
- GetFunction API requests: 100 requests per second.
- GetPolicy API requests: 15 requests per second.
- "Remainder of the control plane API requests (excludes invocation, GetFunction, and
  GetPolicy requests): 15 requests per second across all APIs (not 15 requests per second
  for each API)": GetFunctionConfiguration, UpdateFunctionConfiguration, ListFunctions,
  ListTags, TagResource, PublishLayerVersion... share one budget.
Above it Lambda answers HTTP 429 TooManyRequestsException (API reference, every control-plane
action: "The request throughput limit was exceeded"), with the member `retryAfterSeconds`
bound to the Retry-After header, and Reason CallerRateLimitExceeded. moto never throttles.

Modelled as a token bucket per (account, Region, family) holding one second of requests
(AWS does not document its burst), refilled at the rate; a refused request takes no token.
The rates are the settings lambdaControlPlaneRate and lambdaGetFunctionRate (0 = no limit);
GetPolicy counts with the remainder. Invocations are not control plane (concurrency limits
them: invoke.py). Each refusal is counted: GET /cct-fidelity/lambda-throttles.
"""

from __future__ import annotations

import json
import math
import re
import threading
from typing import Any

from . import core

# Lambda's REST paths start with an API version: /2015-03-31/functions/..., /2017-03-31/tags/...
_LAMBDA_PATH = re.compile(r"^/20\d\d-\d\d-\d\d/")
_INVOKE = re.compile(r"^/2015-03-31/functions/[^/]+/invoke(-async|cations)")
_GET_FUNCTION = re.compile(r"^/2015-03-31/functions/[^/]+/?$")
_SCOPE = re.compile(r"Credential=([^/]+)/\d+/([^/]+)/([^/]+)/")

# What the counts call a request: the actions cct and the tests make, by method and path.
_NAMES: list[tuple[str, re.Pattern[str], str]] = [
    ("GET", re.compile(r"^/2015-03-31/functions/?$"), "ListFunctions"),
    ("GET", _GET_FUNCTION, "GetFunction"),
    ("GET", re.compile(r"/functions/[^/]+/configuration$"), "GetFunctionConfiguration"),
    ("PUT", re.compile(r"/functions/[^/]+/configuration$"), "UpdateFunctionConfiguration"),
    ("PUT", re.compile(r"/functions/[^/]+/code$"), "UpdateFunctionCode"),
    ("GET", re.compile(r"/functions/[^/]+/policy$"), "GetPolicy"),
    ("GET", re.compile(r"/functions/[^/]+/versions$"), "ListVersionsByFunction"),
    ("GET", re.compile(r"/functions/[^/]+/aliases$"), "ListAliases"),
    ("GET", re.compile(r"^/20\d\d-\d\d-\d\d/tags/"), "ListTags"),
    ("POST", re.compile(r"^/20\d\d-\d\d-\d\d/tags/"), "TagResource"),
    ("DELETE", re.compile(r"^/20\d\d-\d\d-\d\d/tags/"), "UntagResource"),
    ("POST", re.compile(r"^/2015-03-31/functions/?$"), "CreateFunction"),
    ("POST", re.compile(r"/layers/[^/]+/versions$"), "PublishLayerVersion"),
]

_buckets: dict[tuple[str, str, str], list[float]] = {}  # key -> [tokens, last refill]
_throttled: dict[str, int] = {}
_guard = threading.Lock()  # not core.lock: a throttled request must not wait behind moto


def patch() -> None:
    """Nothing to patch: throttling happens before moto sees the request (route)."""


def on_reset() -> None:
    with _guard:
        _buckets.clear()
        _throttled.clear()


def _operation(method: str, path: str) -> str:
    for m, pattern, name in _NAMES:
        if m == method and pattern.search(path):
            return name
    return f"{method} {path}"


def _take(key: tuple[str, str, str], rate: float) -> float:
    """0 if a token was taken; else the seconds until one will be there."""
    now = core.now()
    with _guard:
        tokens, last = _buckets.get(key, [rate, now])
        tokens = min(rate, tokens + (now - last) * rate)
        if tokens >= 1:
            _buckets[key] = [tokens - 1, now]
            return 0.0
        _buckets[key] = [tokens, now]
        return (1 - tokens) / rate


def route(environ: dict[str, Any], start_response: Any) -> list[bytes] | None:
    path = environ.get("PATH_INFO", "")
    if path == "/cct-fidelity/lambda-throttles":
        with _guard:
            counts = dict(_throttled)
        return core.json_response(start_response, "200 OK", {"total": sum(counts.values()), "byOperation": counts})
    if not _LAMBDA_PATH.match(path) or _INVOKE.match(path):
        return None
    scope = _SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
    if not scope or scope.group(3) != "lambda":
        return None
    method = environ.get("REQUEST_METHOD", "GET")
    get_function = method == "GET" and _GET_FUNCTION.match(path) is not None
    family = "GetFunction" if get_function else "control"
    rate = float(core.config["lambdaGetFunctionRate" if get_function else "lambdaControlPlaneRate"])
    if rate <= 0:
        return None
    from moto.iam.models import get_account_id_from

    wait = _take((get_account_id_from(scope.group(1)), scope.group(2), family), rate)
    if wait == 0:
        return None
    operation = _operation(method, path)
    with _guard:
        _throttled[operation] = _throttled.get(operation, 0) + 1
    # retryAfterSeconds is whole seconds as Lambda sends it; never 0, which would invite a busy loop.
    retry_after = str(max(1, math.ceil(wait)))
    body = json.dumps(
        {"Type": "User", "message": "Rate exceeded", "Reason": "CallerRateLimitExceeded", "retryAfterSeconds": retry_after}
    ).encode()
    start_response(
        "429 Too Many Requests",
        [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(body))),
            ("x-amzn-ErrorType", "TooManyRequestsException"),
            ("Retry-After", retry_after),
        ],
    )
    return [body]

