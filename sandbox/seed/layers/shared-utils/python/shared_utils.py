import base64
import binascii
import json
from decimal import Decimal

MAX_BODY_BYTES = 256 * 1024
MAX_PAGE_SIZE = 100


class BadRequest(Exception):
    """The caller's mistake: the handler answers 400 with this message."""


def _default(value):
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, set):
        return sorted(value)
    raise TypeError(type(value).__name__)


def response(status, body):
    return {
        "statusCode": status,
        "headers": {"content-type": "application/json"},
        "body": json.dumps(body, default=_default),
    }


def parse_body(event):
    """The request's JSON object; floats become Decimal because boto3 refuses float."""
    body = event.get("body")
    if not body:
        raise BadRequest("a JSON body is required")
    if event.get("isBase64Encoded"):
        body = base64.b64decode(body).decode("utf-8")
    if len(body) > MAX_BODY_BYTES:
        raise BadRequest(f"body is larger than {MAX_BODY_BYTES} bytes")
    try:
        data = json.loads(body, parse_float=Decimal)
    except ValueError as e:
        raise BadRequest(f"body is not valid JSON: {e}")
    if not isinstance(data, dict):
        raise BadRequest("body must be a JSON object")
    return data


def _is_number(value):
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        return False
    value = Decimal(value)
    # DynamoDB keeps 38 significant digits and magnitudes up to 1E+125.
    return value.is_finite() and len(value.as_tuple().digits) <= 38 and abs(value) < Decimal("1E+125")


def validate(data, fields, key_name, key_value):
    """The item to store: the key from the path plus the body's fields.

    fields maps a name to (kind, required), kind one of "string", "number", "string_set".
    """
    if key_name in data and data[key_name] != key_value:
        raise BadRequest(f"{key_name} in the body does not match the path")
    unknown = sorted(set(data) - set(fields) - {key_name})
    if unknown:
        raise BadRequest("unknown field(s): " + ", ".join(unknown))
    item = {key_name: key_value}
    for name, (kind, required) in fields.items():
        if name not in data:
            if required:
                raise BadRequest(f"{name} is required")
            continue
        value = data[name]
        if kind == "string" and not (isinstance(value, str) and value.strip()):
            raise BadRequest(f"{name} must be a non-empty string")
        if kind == "number" and not _is_number(value):
            raise BadRequest(f"{name} must be a number")
        if kind == "string_set":
            # DynamoDB has no empty sets, and a set has no duplicates.
            if not (isinstance(value, list) and value and all(isinstance(v, str) and v for v in value)):
                raise BadRequest(f"{name} must be a non-empty list of strings")
            value = set(value)
        item[name] = value
    return item


def page_request(event, default_size):
    """(limit, exclusive start key or None) from ?limit=N&next_token=..."""
    query = event.get("queryStringParameters") or {}
    try:
        limit = int(query.get("limit", default_size))
    except ValueError:
        raise BadRequest("limit must be a whole number")
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise BadRequest(f"limit must be between 1 and {MAX_PAGE_SIZE}")
    token = query.get("next_token")
    if not token:
        return limit, None
    try:
        start = json.loads(base64.urlsafe_b64decode(token.encode("ascii")))
    except (binascii.Error, ValueError, UnicodeError):
        raise BadRequest("next_token is not one this API gave out")
    if not isinstance(start, dict):
        raise BadRequest("next_token is not one this API gave out")
    return limit, start


def page_response(result):
    """A Scan or Query page as the API's list body, with the token for the next page."""
    last = result.get("LastEvaluatedKey")
    token = base64.urlsafe_b64encode(json.dumps(last, default=_default).encode()).decode() if last else None
    return {"items": result["Items"], "count": len(result["Items"]), "next_token": token}
