import redis
import json
import os
from functools import wraps

# Redis connection
REDIS_HOST = os.environ.get('REDIS_HOST')
REDIS_PORT = int(os.environ.get('REDIS_PORT', 6379))

redis_client = redis.Redis(
    host=REDIS_HOST,
    port=REDIS_PORT,
    decode_responses=True,
    socket_connect_timeout=2,
    socket_timeout=2
)

def cache_get(key):
    """Get value from cache"""
    try:
        value = redis_client.get(key)
        if value:
            return json.loads(value)
        return None
    except Exception as e:
        print(f"Cache get error: {e}")
        return None

def cache_set(key, value, ttl=3600):
    """Set value in cache with TTL"""
    try:
        redis_client.setex(key, ttl, json.dumps(value))
        return True
    except Exception as e:
        print(f"Cache set error: {e}")
        return False

def cache_delete(key):
    """Delete key from cache"""
    try:
        redis_client.delete(key)
        return True
    except Exception as e:
        print(f"Cache delete error: {e}")
        return False

def cache_decorator(key_prefix, ttl=3600):
    """Decorator for caching function results"""
    def decorator(func):
        @wraps(func)
        def wrapper(*args, **kwargs):
            # Generate cache key
            cache_key = f"{key_prefix}:{args[0]}" if args else key_prefix
            
            # Try cache first
            cached = cache_get(cache_key)
            if cached:
                print(f"✅ Cache HIT: {cache_key}")
                return cached
            
            # Cache miss - call function
            print(f"❌ Cache MISS: {cache_key}")
            result = func(*args, **kwargs)
            
            # Store in cache
            cache_set(cache_key, result, ttl)
            
            return result
        return wrapper
    return decorator
