-- claim-due: atomically take the orders whose due time has come from one background queue and lease them:
-- each claimed order's due time moves to the end of the lease, so no other process claims it meanwhile, and a
-- worker that dies mid-job loses nothing (the order is due again when the lease runs out).
-- The work scales with the number of due orders, not with all orders.
--
-- KEYS[1] queue     <prefix>{s<n>}:due:query or ...:due:close   (one shard's; sorted set, score = due time in ms)
-- KEYS[2] claims    <prefix>{s<n>}:due:query:attempts or ...:close:attempts   (hash id -> claims so far)
-- ARGV[1] now (ms)   ARGV[2] lease end (ms)   ARGV[3] max orders to claim
--
-- Result: a flat array { id1, attempt1, id2, attempt2, ... } (empty when nothing is due); attempt counts the
-- claims of that order in this queue, 1 for the first.

local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
local out = {}
for _, id in ipairs(due) do
  redis.call('ZADD', KEYS[1], 'XX', ARGV[2], id)
  out[#out + 1] = id
  out[#out + 1] = redis.call('HINCRBY', KEYS[2], id, 1)
end
return out
