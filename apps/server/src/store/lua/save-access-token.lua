-- save-access-token: stores the token the lock holder fetched, kept until it expires, and releases the lock in
-- the same step, so a waiting process sees the token as soon as the lock is gone. With an empty token, only
-- releases the lock (the fetch failed). The lock is released only by its owner: a holder whose lock expired
-- must not release the lock of the process that took it over.
--
-- KEYS[1] token   <prefix>{token:<appid>}        (JSON: token, refreshAt, expiresAt)
-- KEYS[2] lock    <prefix>{token:<appid>}:lock
-- ARGV[1] the token's JSON, or ''   ARGV[2] its time to live (ms)   ARGV[3] owner
--
-- Result: 1 when the lock was this owner's and is released, 0 otherwise (the token is stored either way)

if ARGV[1] ~= '' then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) end
if redis.call('GET', KEYS[2]) == ARGV[3] then
  redis.call('DEL', KEYS[2])
  return 1
end
return 0
