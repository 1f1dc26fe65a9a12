-- create-order: store a new PENDING order, index it and queue its background work, honouring an
-- idempotency key, all in one atomic step.
--
-- KEYS[1] order hash                <prefix>order:{<id>}
-- KEYS[2] idempotency key           <prefix>idem:{<openid>}:<sha256(key)>  (ignored when ARGV[8] is '')
-- KEYS[3] the buyer's order index   <prefix>user:{<openid>}:orders        (sorted set, score = createdAt)
-- KEYS[4] query queue               <prefix>due:query                      (sorted set, score = due time)
-- KEYS[5] expiry queue              <prefix>due:expire                     (sorted set, score = due time)
-- ARGV[1] id (= out_trade_no)   ARGV[2] openid        ARGV[3] totalFen     ARGV[4] createdAt (ms)
-- ARGV[5] expiresAt (ms)        ARGV[6] doc (JSON: description, items, payRequest)
-- ARGV[7] first query due (ms)  ARGV[8] request fingerprint ('' = no idempotency key)
-- ARGV[9] idempotency TTL (s)
--
-- Results:
--   { 1, id }          created
--   { 2, existingId }  the idempotency key was used before with the same request: replay that order
--  { -1, existingId }  the idempotency key was used before with a different request: conflict
--  { -2, id }          an order with this id already exists (id collision; nothing written)

local hasKey = ARGV[8] ~= ''
if hasKey then
  local previous = redis.call('GET', KEYS[2])
  if previous then
    local sep = string.find(previous, '\n', 1, true)
    local fingerprint = string.sub(previous, 1, sep - 1)
    local existingId = string.sub(previous, sep + 1)
    if fingerprint == ARGV[8] then return { 2, existingId } end
    return { -1, existingId }
  end
end

if redis.call('EXISTS', KEYS[1]) == 1 then return { -2, ARGV[1] } end

redis.call('HSET', KEYS[1],
  'id', ARGV[1], 'openid', ARGV[2], 'status', 'PENDING', 'totalFen', ARGV[3],
  'createdAt', ARGV[4], 'expiresAt', ARGV[5], 'doc', ARGV[6])
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[1])
redis.call('ZADD', KEYS[4], ARGV[7], ARGV[1])
redis.call('ZADD', KEYS[5], ARGV[5], ARGV[1])
if hasKey then
  redis.call('SET', KEYS[2], ARGV[8] .. '\n' .. ARGV[1], 'EX', ARGV[9])
end
return { 1, ARGV[1] }
