-- mark-closed: PENDING -> CLOSED after WeChat confirmed the trade cannot be paid (closeorder succeeded,
-- orderquery says CLOSED, or WeChat never knew it). Appends exactly one order.closed event and removes the
-- order from both background queues, atomically. A PAID order stays PAID.
--
-- KEYS[1] order hash          <prefix>order:{<id>}
-- KEYS[2] event stream        <prefix>events
-- KEYS[3] query queue         <prefix>due:query
-- KEYS[4] expiry queue        <prefix>due:expire
-- KEYS[5] query attempts      <prefix>due:query:attempts
-- KEYS[6] expiry attempts     <prefix>due:expire:attempts
-- ARGV[1] id   ARGV[2] closedAt (ms)   ARGV[3] reason (expired | buyer | wechat_closed | ...)
--
-- Results:
--   { 1, eventId }  made CLOSED now; one order.closed appended
--   { 2 }           already CLOSED: nothing changed
--  { -1 }           no such order
--  { -3 }           the order is PAID: nothing changed

local status = redis.call('HGET', KEYS[1], 'status')
if not status then return { -1 } end
if status == 'CLOSED' then return { 2 } end
if status == 'PAID' then return { -3 } end

redis.call('HSET', KEYS[1], 'status', 'CLOSED', 'closedAt', ARGV[2], 'closeReason', ARGV[3])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('ZREM', KEYS[4], ARGV[1])
redis.call('HDEL', KEYS[5], ARGV[1])
redis.call('HDEL', KEYS[6], ARGV[1])
local total = redis.call('HGET', KEYS[1], 'totalFen')
local eventId = redis.call('XADD', KEYS[2], '*',
  'type', 'order.closed', 'orderId', ARGV[1], 'outTradeNo', ARGV[1], 'totalFen', total,
  'source', ARGV[3], 'at', ARGV[2])
return { 1, eventId }
