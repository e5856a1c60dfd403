import os
from urllib.parse import unquote

import boto3
from shared_utils import BadRequest, page_request, page_response, parse_body, response, validate

dynamodb = boto3.resource('dynamodb')
articles_table = dynamodb.Table(os.environ.get('TABLE_NAME', 'articles'))
PAGE_SIZE = int(os.environ.get('PAGE_SIZE', '20'))

ARTICLE_FIELDS = {
    'title': ('string', True),
    'author': ('string', True),
    'body': ('string', True),
    'category': ('string', False),
    'published_at': ('string', False),
    'views': ('number', False),
    'rating': ('number', False),
    'word_count': ('number', False),
    'tags': ('string_set', False),
}


def get_article(article_id):
    """Get one article"""
    response = articles_table.get_item(Key={'article_id': article_id})
    return response.get('Item')


def list_articles(event):
    """One page of articles"""
    limit, start = page_request(event, PAGE_SIZE)
    kwargs = {'Limit': limit}
    if start:
        kwargs['ExclusiveStartKey'] = start
    return page_response(articles_table.scan(**kwargs))


def put_article(article_id, body):
    """Create or replace an article"""
    item = validate(body, ARTICLE_FIELDS, 'article_id', article_id)
    old = articles_table.put_item(Item=item, ReturnValues='ALL_OLD')
    return ('Attributes' in old), item


def lambda_handler(event, context):
    # A test event from the console has no HTTP fields: answer it as the list route.
    path = event.get('rawPath') or event.get('path') or '/articles'
    method = event.get('requestContext', {}).get('http', {}).get('method') or event.get('httpMethod') or 'GET'

    parts = [unquote(part) for part in path.strip('/').split('/')]

    try:
        if parts == ['articles'] and method == 'GET':
            return response(200, list_articles(event))

        elif len(parts) == 2 and parts[0] == 'articles' and parts[1] and method == 'GET':
            article_id = parts[1]
            article = get_article(article_id)
            if article is None:
                return response(404, {'message': f'article {article_id} not found'})
            return response(200, article)

        elif len(parts) == 2 and parts[0] == 'articles' and parts[1] and method == 'PUT':
            article_id = parts[1]
            replaced, article = put_article(article_id, parse_body(event))
            return response(200 if replaced else 201, article)

        return response(404, {'message': f'no route for {method} {path}'})
    except BadRequest as e:
        return response(400, {'message': str(e)})
