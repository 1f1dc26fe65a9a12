-- lock-access-token: one process at a time fetches the app's access token (docs/subscribe-messages.md); the
-- lock expires by itself, so a process that dies while fetching holds up the others for `ttl` at most.
--
-- KEYS[1] lock   <prefix>{token:<appid>}:lock
-- ARGV[1] owner (a random id of the caller)   ARGV[2] ttl (ms)
--
-- Results:
--   1   taken
--   0   held by another caller: nothing changed

if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
return 0
