import os
from urllib.parse import quote, unquote

import boto3
from shared_utils import BadRequest, page_request, page_response, parse_body, response, validate

dynamodb = boto3.resource('dynamodb')
resources_table = dynamodb.Table(os.environ.get('TABLE_NAME', 'resources'))
RESOURCES_BUCKET = os.environ.get('RESOURCES_BUCKET', 'cct-demo-resources')

KINDS = {'pdf', 'guide', 'video', 'link', 'worksheet'}
RESOURCE_FIELDS = {
    'title': ('string', True),
    'kind': ('string', True),
    's3_key': ('string', True),
    'description': ('string', False),
    'size_bytes': ('number', False),
    'downloads': ('number', False),
    'price': ('number', False),
    'topics': ('string_set', False),
}


def with_download_url(resource):
    """The file lives in the bucket; the item only knows its key"""
    resource['download_url'] = f"https://{RESOURCES_BUCKET}.s3.amazonaws.com/{quote(resource['s3_key'])}"
    return resource


def get_resource(resource_id):
    """Get one resource"""
    response = resources_table.get_item(Key={'resource_id': resource_id})
    item = response.get('Item')
    return with_download_url(item) if item else None


def list_resources(event):
    """One page of resources"""
    limit, start = page_request(event, 25)
    kwargs = {'Limit': limit}
    if start:
        kwargs['ExclusiveStartKey'] = start
    page = page_response(resources_table.scan(**kwargs))
    page['items'] = [with_download_url(resource) for resource in page['items']]
    return page


def put_resource(resource_id, body):
    """Create or replace a resource"""
    item = validate(body, RESOURCE_FIELDS, 'resource_id', resource_id)
    if item['kind'] not in KINDS:
        raise BadRequest('kind must be one of ' + ', '.join(sorted(KINDS)))
    old = resources_table.put_item(Item=item, ReturnValues='ALL_OLD')
    return ('Attributes' in old), item


def lambda_handler(event, context):
    # A test event from the console has no HTTP fields: answer it as the list route.
    path = event.get('rawPath') or event.get('path') or '/resources'
    method = event.get('requestContext', {}).get('http', {}).get('method') or event.get('httpMethod') or 'GET'

    parts = [unquote(part) for part in path.strip('/').split('/')]

    try:
        if parts == ['resources'] and method == 'GET':
            return response(200, list_resources(event))

        elif len(parts) == 2 and parts[0] == 'resources' and parts[1] and method == 'GET':
            resource = get_resource(parts[1])
            if resource is None:
                return response(404, {'message': f'resource {parts[1]} not found'})
            return response(200, resource)

        elif len(parts) == 2 and parts[0] == 'resources' and parts[1] and method == 'PUT':
            replaced, resource = put_resource(parts[1], parse_body(event))
            return response(200 if replaced else 201, with_download_url(resource))

        return response(404, {'message': f'no route for {method} {path}'})
    except BadRequest as e:
        return response(400, {'message': str(e)})
