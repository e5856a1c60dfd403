local v = redis.call('GET', KEYS[1])
if v then return {1, v} end
local g = redis.call('GET', KEYS[2]) or ''
local ok = redis.call('SET', KEYS[3], ARGV[1], 'NX', 'PX', ARGV[2])
if ok then return {0, g, 1} end
return {0, g, 0}
