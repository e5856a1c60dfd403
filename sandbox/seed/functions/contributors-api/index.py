import os
from urllib.parse import unquote

import boto3
from shared_utils import BadRequest, page_request, page_response, parse_body, response, validate

dynamodb = boto3.resource('dynamodb')
contributors_table = dynamodb.Table(os.environ.get('TABLE_NAME', 'contributors'))
MAX_CONTRIBUTORS = int(os.environ.get('MAX_CONTRIBUTORS', '50'))

CONTRIBUTOR_FIELDS = {
    'name': ('string', True),
    'email': ('string', True),
    'bio': ('string', False),
    'joined_at': ('string', False),
    'articles_count': ('number', False),
    'rating': ('number', False),
    'roles': ('string_set', False),
}


def public(contributor):
    """Email addresses are for the editors, not for the public API"""
    contributor.pop('email', None)
    return contributor


def get_contributor(contributor_id):
    """Get one contributor's profile"""
    response = contributors_table.get_item(Key={'contributor_id': contributor_id})
    item = response.get('Item')
    return public(item) if item else None


def list_contributors(event):
    """One page of contributors, never more than MAX_CONTRIBUTORS"""
    limit, start = page_request(event, 20)
    kwargs = {'Limit': min(limit, MAX_CONTRIBUTORS)}
    if start:
        kwargs['ExclusiveStartKey'] = start
    page = page_response(contributors_table.scan(**kwargs))
    page['items'] = [public(contributor) for contributor in page['items']]
    return page


def put_contributor(contributor_id, body):
    """Create or replace a contributor"""
    item = validate(body, CONTRIBUTOR_FIELDS, 'contributor_id', contributor_id)
    if '@' not in item['email'].strip('@'):
        raise BadRequest('email must be an email address')
    old = contributors_table.put_item(Item=item, ReturnValues='ALL_OLD')
    return ('Attributes' in old), item


def lambda_handler(event, context):
    # A test event from the console has no HTTP fields: answer it as the list route.
    path = event.get('rawPath') or event.get('path') or '/contributors'
    method = event.get('requestContext', {}).get('http', {}).get('method') or event.get('httpMethod') or 'GET'

    parts = [unquote(part) for part in path.strip('/').split('/')]

    try:
        if parts == ['contributors'] and method == 'GET':
            return response(200, list_contributors(event))

        elif len(parts) == 2 and parts[0] == 'contributors' and parts[1] and method == 'GET':
            contributor = get_contributor(parts[1])
            if contributor is None:
                return response(404, {'message': f'contributor {parts[1]} not found'})
            return response(200, contributor)

        elif len(parts) == 2 and parts[0] == 'contributors' and parts[1] and method == 'PUT':
            replaced, contributor = put_contributor(parts[1], parse_body(event))
            return response(200 if replaced else 201, public(contributor))

        return response(404, {'message': f'no route for {method} {path}'})
    except BadRequest as e:
        return response(400, {'message': str(e)})
