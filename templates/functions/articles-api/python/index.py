"""articles-api on the cct cache layer (Python 3.12/3.13): the runbook's articles API with
the cache in front of DynamoDB.

  GET /articles            list (the whole table, scanned page by page), cached 30 min
  GET /articles/{id}       one article, cached 1 h (not-found cached briefly)
  PUT /articles/{id}       update title/content, then invalidate the item and the list

Accepts API Gateway HTTP API (v2) and REST API (v1) events. cache_helper comes from the
cct layer; boto3 from the Lambda runtime.

Env: ARTICLES_TABLE (articles), SCAN_PAGE_SIZE (optional Limit per scan page), and the
cache's REDIS_HOST/REDIS_PORT/REDIS_TLS/CACHE_* (set by ``cct setup``).
"""

import base64
import json
import os
import re
from decimal import Decimal
from urllib.parse import unquote

import boto3

from cache_helper import cache_decorator, cache_get_or_load, cache_handler, cache_invalidate

TABLE = os.environ.get("ARTICLES_TABLE", "articles")
SCAN_PAGE_SIZE = int(os.environ.get("SCAN_PAGE_SIZE") or 0) or None
LIST_KEY = "articles:list"

# Module scope: created once per container, reused by every invocation.
articles_table = boto3.resource("dynamodb").Table(TABLE)


@cache_decorator("article", preset="articles")  # cached at article:<id>, like the runbook
def get_article(article_id):
    return articles_table.get_item(Key={"article_id": article_id}).get("Item")


def _scan_all():
    # Scan returns at most 1 MB per call: follow LastEvaluatedKey to the end.
    items, kwargs = [], {}
    if SCAN_PAGE_SIZE:
        kwargs["Limit"] = SCAN_PAGE_SIZE
    while True:
        page = articles_table.scan(**kwargs)
        items.extend(page.get("Items", []))
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def list_articles():
    return cache_get_or_load(LIST_KEY, _scan_all, preset="lists") or []


def update_article(article_id, updates):
    articles_table.update_item(
        Key={"article_id": article_id},
        UpdateExpression="SET #title = :title, #content = :content",
        ExpressionAttributeNames={"#title": "title", "#content": "content"},
        ExpressionAttributeValues={":title": updates["title"], ":content": updates["content"]},
    )
    # After the write: drop the item and the list. Loads already running elsewhere will
    # not write their older copies back (the helper checks an invalidation counter).
    cache_invalidate("article:%s" % article_id, LIST_KEY)
    return {"success": True}


def _json_default(value):
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    raise TypeError("%s is not JSON serializable" % type(value).__name__)


def _response(status, body):
    return {
        "statusCode": status,
        "headers": {"content-type": "application/json"},
        "body": json.dumps(body, default=_json_default),
    }


def _updates(event):
    try:
        raw = event.get("body") or ""
        if event.get("isBase64Encoded"):
            raw = base64.b64decode(raw).decode("utf-8")
        body = json.loads(raw)
    except (ValueError, TypeError):
        return None
    if isinstance(body, dict) and isinstance(body.get("title"), str) and isinstance(body.get("content"), str):
        return body
    return None


_ITEM_PATH = re.compile(r"^/articles/([^/]+)$")


@cache_handler  # one metrics line per invocation instead of one per cache call
def lambda_handler(event, context):
    path = event.get("rawPath") or event.get("path") or ""
    method = (event.get("requestContext") or {}).get("http", {}).get("method") or event.get("httpMethod") or ""
    match = _ITEM_PATH.match(path)
    article_id = unquote(match.group(1)) if match else None

    if path == "/articles" and method == "GET":
        return _response(200, list_articles())

    if article_id is not None and method == "GET":
        article = get_article(article_id)
        if article is None:
            return _response(404, {"message": "article %s not found" % article_id})
        return _response(200, article)

    if article_id is not None and method == "PUT":
        updates = _updates(event)
        if updates is None:
            return _response(400, {"message": 'body must be JSON with string "title" and "content"'})
        return _response(200, update_article(article_id, updates))

    return _response(404, {"message": "no route for %s %s" % (method, path)})
