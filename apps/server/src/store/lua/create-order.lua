-- uses: lib/transition.lua
-- create-order: store a new PENDING order with its first payment attempt, index it and queue its background
-- work, honouring an idempotency key, all in one atomic step.
--
-- KEYS[1..7] as in lib/transition.lua
-- KEYS[8] idempotency key           <prefix>{s<n>}:idem:<userId>:<sha256(key)>  (ignored when ARGV[8] is '')
-- KEYS[10..14] the status index (lib/transition.lua index_status)
-- KEYS[9] the buyer's order index   <prefix>{s<n>}:user:<userId>:orders  (this shard's; sorted set, score = createdAt)
-- ARGV[1] order id        ARGV[2] userId         ARGV[3] totalFen       ARGV[4] createdAt (ms)
-- ARGV[5] expiresAt (ms)  ARGV[6] doc (JSON: description, items)
-- ARGV[7] first query due (ms)   ARGV[8] request fingerprint ('' = no idempotency key)
-- ARGV[9] idempotency TTL (s)    ARGV[10] first attempt's out_trade_no   ARGV[11] its doc (JSON)
-- ARGV[12..] who is paid: the attempt's merchant ('' = the shop's own), its combine sub-orders' count and the
--          sub-orders
--          (lib/transition.lua write_parts)
--
-- Results:
--   { 1, id }          created
--   { 2, existingId }  the idempotency key was used before with the same request: replay that order
--  { -1, existingId }  the idempotency key was used before with a different request: conflict
--  { -2, id }          an order with this id already exists (id collision; nothing written)

local id = ARGV[1]
local hasKey = ARGV[8] ~= ''
if hasKey then
  local previous = redis.call('GET', KEYS[8])
  if previous then
    local sep = string.find(previous, '\n', 1, true)
    local fingerprint = string.sub(previous, 1, sep - 1)
    local existingId = string.sub(previous, sep + 1)
    if fingerprint == ARGV[8] then return { 2, existingId } end
    return { -1, existingId }
  end
end

if redis.call('EXISTS', KEYS[1]) == 1 then return { -2, id } end

local no = ARGV[10]
redis.call('HSET', KEYS[1],
  'id', id, 'userId', ARGV[2], 'status', 'PENDING', 'totalFen', ARGV[3],
  'createdAt', ARGV[4], 'expiresAt', ARGV[5], 'doc', ARGV[6], 'current', no, 'attemptCount', 1)
redis.call('HSET', KEYS[2], no, ARGV[11], no .. '.state', 'OPEN')
write_parts(no, 12)
redis.call('ZADD', KEYS[9], ARGV[4], id)
index_status(id, nil, 'PENDING')
redis.call('ZADD', KEYS[Q_QUERY], ARGV[7], id)
redis.call('ZADD', KEYS[Q_CLOSE], ARGV[5], id)
if hasKey then
  redis.call('SET', KEYS[8], ARGV[8] .. '\n' .. id, 'EX', ARGV[9])
end
return { 1, id }
