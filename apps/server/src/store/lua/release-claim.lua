-- release-claim: the worker is done with a claimed order in one queue: remove it (nothing left to do there) or
-- set its next due time. Only if the order still holds this claim's lease: a transition that ran during the job
-- (a new attempt queued for queries, a payment making a close due at once, an order leaving the queue) changed
-- the score, and its decision must win over the worker's, which was made on older data.
--
-- KEYS[1] queue           <prefix>{s<n>}:due:query or ...:due:close   (sorted set, score = due time in ms)
-- KEYS[2] claim counts    <prefix>{s<n>}:due:query:attempts or ...:close:attempts   (hash id -> claims so far)
-- ARGV[1] id   ARGV[2] the claim's lease end (ms)   ARGV[3] next due time (ms), or '' to remove the order
--
-- Results:
--   1   released as asked
--   0   the lease was no longer this claim's (a transition moved or removed the order): nothing changed

local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not score or tonumber(score) ~= tonumber(ARGV[2]) then return 0 end
if ARGV[3] == '' then
  redis.call('ZREM', KEYS[1], ARGV[1])
  redis.call('HDEL', KEYS[2], ARGV[1])
else
  redis.call('ZADD', KEYS[1], 'XX', ARGV[3], ARGV[1])
end
return 1
