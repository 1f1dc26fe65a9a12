-- uses: lib/transition.lua
-- open-attempt: a new payment attempt (a new out_trade_no) for a PENDING order: after the last one failed
-- (PAYERROR), or to replace an open one (`supersede`, e.g. another channel). The replaced attempt becomes ENDED
-- and the close queue closes it at WeChat, so the buyer cannot pay both.
--
-- KEYS[1..7] as in lib/transition.lua
-- ARGV[1] order id   ARGV[2] out_trade_no   ARGV[3] attempt doc (JSON)   ARGV[4] query due (ms)
-- ARGV[5] max attempts   ARGV[6] '1' to supersede an OPEN attempt   ARGV[7] close due of a superseded one (ms)
-- ARGV[8] now (ms)   ARGV[9..] who is paid: the attempt's merchant ('' = the shop's own), its combine
-- sub-orders' count and the sub-orders
-- (lib/transition.lua write_parts)
--
-- Results:
--   { 1 }               opened
--   { 2, openNo }       an attempt is OPEN and ARGV[6] is not '1': nothing changed, use that one
--   { 0, status }       the order is not PENDING: nothing changed
--  { -1 }               no such order
--  { -2 }               this out_trade_no exists already (nothing changed)
--  { -4 }               the order has had ARGV[5] attempts already

local id, no = ARGV[1], ARGV[2]
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return { -1 } end
if status ~= 'PENDING' then return { 0, status } end
-- Checked before the out_trade_no: two requests racing to open the same next number find the winner's OPEN one.
local current = redis.call('HGET', KEYS[1], 'current')
local currentOpen = current and attempt_get(current, 'state') == 'OPEN'
if currentOpen and ARGV[6] ~= '1' then return { 2, current } end
local count = tonumber(redis.call('HGET', KEYS[1], 'attemptCount') or '0')
if count >= tonumber(ARGV[5]) then return { -4 } end
if redis.call('HEXISTS', KEYS[2], no) == 1 then return { -2 } end

if currentOpen then
  attempt_set(current, 'state', 'ENDED', 'end', 'superseded', 'endedAt', ARGV[8])
  due_by(Q_CLOSE, id, ARGV[7])
end
redis.call('HSET', KEYS[2], no, ARGV[3], no .. '.state', 'OPEN')
write_parts(no, 9)
redis.call('HSET', KEYS[1], 'current', no, 'attemptCount', count + 1)
-- A fresh trade starts a fresh query schedule; its close is due at the order's expiry at the latest.
redis.call('ZADD', KEYS[Q_QUERY], ARGV[4], id)
redis.call('HDEL', KEYS[Q_QUERY + 2], id)
due_by(Q_CLOSE, id, redis.call('HGET', KEYS[1], 'expiresAt'))
return { 1 }
