import os
import urllib.request
import xml.etree.ElementTree as ET
from urllib.parse import unquote

import boto3
from boto3.dynamodb.conditions import Key
from shared_utils import BadRequest, page_request, page_response, parse_body, response, validate

dynamodb = boto3.resource('dynamodb')
news_table = dynamodb.Table(os.environ.get('TABLE_NAME', 'news'))
NEWS_FEED_URL = os.environ.get('NEWS_FEED_URL')
# Well under the function's 10 s Timeout: an unreachable feed gives a 502 we can log,
# not a Lambda timeout.
FEED_TIMEOUT_SECONDS = 3.0
CATEGORY_INDEX = 'category-published_at-index'

NEWS_FIELDS = {
    'headline': ('string', True),
    'category': ('string', True),
    'published_at': ('string', True),
    'source': ('string', False),
    'summary': ('string', False),
    'priority': ('number', False),
    'regions': ('string_set', False),
}


class FeedUnavailable(Exception):
    pass


def fetch_headlines(context):
    """The partner feed's latest headlines (RSS), shown above our own stories"""
    timeout = FEED_TIMEOUT_SECONDS
    if context is not None:
        timeout = max(0.5, min(timeout, context.get_remaining_time_in_millis() / 1000 - 1))
    try:
        with urllib.request.urlopen(NEWS_FEED_URL, timeout=timeout) as feed:
            document = feed.read(1024 * 1024)
    except Exception as e:  # URLError, timeouts, resets: all mean "no feed"
        raise FeedUnavailable(f'{NEWS_FEED_URL}: {e}')
    try:
        items = ET.fromstring(document).iter('item')
        return [{'title': item.findtext('title'), 'link': item.findtext('link')} for item in items][:5]
    except ET.ParseError as e:
        print(f'News feed is not RSS: {e}')
        return []


def get_story(news_id):
    """Get one story"""
    response = news_table.get_item(Key={'news_id': news_id})
    return response.get('Item')


def list_news(event, context):
    """One page of stories, newest first within a category; plus the feed's headlines"""
    limit, start = page_request(event, 20)
    category = (event.get('queryStringParameters') or {}).get('category')
    kwargs = {'Limit': limit}
    if start:
        kwargs['ExclusiveStartKey'] = start
    if category:
        result = news_table.query(IndexName=CATEGORY_INDEX, KeyConditionExpression=Key('category').eq(category), ScanIndexForward=False, **kwargs)
    else:
        result = news_table.scan(**kwargs)
    page = page_response(result)
    if NEWS_FEED_URL:
        page['headlines'] = fetch_headlines(context)
    return page


def put_story(news_id, body):
    """Create or replace a story"""
    item = validate(body, NEWS_FIELDS, 'news_id', news_id)
    old = news_table.put_item(Item=item, ReturnValues='ALL_OLD')
    return ('Attributes' in old), item


def lambda_handler(event, context):
    # A test event from the console has no HTTP fields: answer it as the list route.
    path = event.get('rawPath') or event.get('path') or '/news'
    method = event.get('requestContext', {}).get('http', {}).get('method') or event.get('httpMethod') or 'GET'

    parts = [unquote(part) for part in path.strip('/').split('/')]

    try:
        if parts == ['news'] and method == 'GET':
            return response(200, list_news(event, context))

        elif len(parts) == 2 and parts[0] == 'news' and parts[1] and method == 'GET':
            story = get_story(parts[1])
            if story is None:
                return response(404, {'message': f'story {parts[1]} not found'})
            return response(200, story)

        elif len(parts) == 2 and parts[0] == 'news' and parts[1] and method == 'PUT':
            replaced, story = put_story(parts[1], parse_body(event))
            return response(200 if replaced else 201, story)

        return response(404, {'message': f'no route for {method} {path}'})
    except BadRequest as e:
        return response(400, {'message': str(e)})
    except FeedUnavailable as e:
        print(f'News feed unavailable: {e}')
        return response(502, {'message': 'the news feed is unavailable'})
