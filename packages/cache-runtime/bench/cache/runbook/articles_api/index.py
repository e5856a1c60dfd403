import boto3
import json
from cache_helper import cache_get, cache_set, cache_delete, cache_decorator

dynamodb = boto3.resource('dynamodb')
articles_table = dynamodb.Table('articles')

@cache_decorator('article', ttl=3600)  # Cache for 1 hour
def get_article(article_id):
    """Get article with caching"""
    response = articles_table.get_item(Key={'article_id': article_id})
    return response.get('Item')

def list_articles():
    """List articles with caching"""
    cache_key = 'articles:list'
    
    # Try cache
    cached = cache_get(cache_key)
    if cached:
        return cached
    
    # Cache miss - query DynamoDB
    response = articles_table.scan()
    articles = response['Items']
    
    # Cache for 30 minutes
    cache_set(cache_key, articles, ttl=1800)
    
    return articles

def update_article(article_id, updates):
    """Update article and invalidate cache"""
    # Update in DynamoDB
    articles_table.update_item(
        Key={'article_id': article_id},
        UpdateExpression='SET #title = :title, #content = :content',
        ExpressionAttributeNames={
            '#title': 'title',
            '#content': 'content'
        },
        ExpressionAttributeValues={
            ':title': updates['title'],
            ':content': updates['content']
        }
    )
    
    # Invalidate cache
    cache_delete(f'article:{article_id}')
    cache_delete('articles:list')
    
    return {'success': True}

def lambda_handler(event, context):
    path = event.get('rawPath') or event.get('path')
    method = event.get('requestContext', {}).get('http', {}).get('method') or event.get('httpMethod')
    
    if path == '/articles' and method == 'GET':
        articles = list_articles()
        return {
            'statusCode': 200,
            'body': json.dumps(articles)
        }
    
    elif path.startswith('/articles/') and method == 'GET':
        article_id = path.split('/')[-1]
        article = get_article(article_id)
        return {
            'statusCode': 200,
            'body': json.dumps(article)
        }
    
    elif path.startswith('/articles/') and method == 'PUT':
        article_id = path.split('/')[-1]
        body = json.loads(event['body'])
        result = update_article(article_id, body)
        return {
            'statusCode': 200,
            'body': json.dumps(result)
        }
