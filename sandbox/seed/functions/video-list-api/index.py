import os
from urllib.parse import unquote

import boto3
from shared_utils import BadRequest, page_request, page_response, parse_body, response, validate

dynamodb = boto3.resource('dynamodb')
videos_table = dynamodb.Table(os.environ.get('TABLE_NAME', 'videos'))
VIDEO_CDN_URL = os.environ.get('VIDEO_CDN_URL', '').rstrip('/')

VIDEO_FIELDS = {
    'title': ('string', True),
    'channel': ('string', True),
    'duration_seconds': ('number', True),
    'description': ('string', False),
    'published_at': ('string', False),
    'views': ('number', False),
    'likes': ('number', False),
    'resolutions': ('string_set', False),
}


def with_stream_url(video):
    """Players need the CDN address, which is configuration, not data"""
    video['stream_url'] = f"{VIDEO_CDN_URL}/{video['video_id']}/index.m3u8"
    return video


def get_video(video_id):
    """Get one video's metadata"""
    response = videos_table.get_item(Key={'video_id': video_id})
    item = response.get('Item')
    return with_stream_url(item) if item else None


def list_videos(event):
    """One page of videos"""
    limit, start = page_request(event, 24)
    kwargs = {'Limit': limit}
    if start:
        kwargs['ExclusiveStartKey'] = start
    page = page_response(videos_table.scan(**kwargs))
    page['items'] = [with_stream_url(video) for video in page['items']]
    return page


def put_video(video_id, body):
    """Create or replace a video's metadata"""
    item = validate(body, VIDEO_FIELDS, 'video_id', video_id)
    old = videos_table.put_item(Item=item, ReturnValues='ALL_OLD')
    return ('Attributes' in old), item


def lambda_handler(event, context):
    # A test event from the console has no HTTP fields: answer it as the list route.
    path = event.get('rawPath') or event.get('path') or '/videos'
    method = event.get('requestContext', {}).get('http', {}).get('method') or event.get('httpMethod') or 'GET'

    parts = [unquote(part) for part in path.strip('/').split('/')]

    try:
        if parts == ['videos'] and method == 'GET':
            return response(200, list_videos(event))

        elif len(parts) == 2 and parts[0] == 'videos' and parts[1] and method == 'GET':
            video = get_video(parts[1])
            if video is None:
                return response(404, {'message': f'video {parts[1]} not found'})
            return response(200, video)

        elif len(parts) == 2 and parts[0] == 'videos' and parts[1] and method == 'PUT':
            replaced, video = put_video(parts[1], parse_body(event))
            return response(200 if replaced else 201, with_stream_url(video))

        return response(404, {'message': f'no route for {method} {path}'})
    except BadRequest as e:
        return response(400, {'message': str(e)})
