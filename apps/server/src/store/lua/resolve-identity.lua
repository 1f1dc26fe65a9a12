-- resolve-identity: the user id of a WeChat identity (appid, openid), creating the user on first sight.
-- Atomic, so two first sign-ins at once (two processes) end with one user.
--
-- KEYS[1] identity   <prefix>{s<n>}:identity:<appid>:<openid>   (string: user id)
-- KEYS[2] user hash  <prefix>{s<n>}:user:<new user id>   (the same shard: shards.ts idMinter; written only when created)
-- ARGV[1] new user id   ARGV[2] appid   ARGV[3] openid   ARGV[4] createdAt (ms)
--
-- Results:
--   { 1, userId }   created now
--   { 2, userId }   known identity

local existing = redis.call('GET', KEYS[1])
if existing then return { 2, existing } end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[2], 'id', ARGV[1], 'createdAt', ARGV[4], 'identity:' .. ARGV[2], ARGV[3])
return { 1, ARGV[1] }
