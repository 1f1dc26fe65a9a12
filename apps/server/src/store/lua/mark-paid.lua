-- mark-paid: the one transition to PAID, shared by the notification, orderquery and closeorder(ORDERPAID).
-- Compare-and-set on the status plus an amount check, then exactly one order.paid event and the order leaves
-- both background queues, all atomically: concurrent duplicates from several processes change nothing.
--
-- A CLOSED order can still become PAID: this only happens when WeChat, the authority on money, says the buyer
-- paid (closeorder is always asked first, so it is an anomaly), and the money must then be fulfilled or refunded.
--
-- KEYS[1] order hash          <prefix>order:{<id>}
-- KEYS[2] event stream        <prefix>events
-- KEYS[3] query queue         <prefix>due:query
-- KEYS[4] expiry queue        <prefix>due:expire
-- KEYS[5] query attempts      <prefix>due:query:attempts   (hash id -> claims so far)
-- KEYS[6] expiry attempts     <prefix>due:expire:attempts
-- ARGV[1] id   ARGV[2] total_fee reported by WeChat (fen)   ARGV[3] transaction_id   ARGV[4] time_end
-- ARGV[5] paidAt (ms)   ARGV[6] source (notify | query | close)
--
-- Results:
--   { 1, previousStatus, eventId }  made PAID now; one order.paid appended
--   { 2 }                           already PAID with this transaction_id: nothing changed
--   { 3, storedTransactionId }      already PAID with another transaction_id: nothing changed
--  { -1 }                           no such order
--  { -2, storedTotalFen }           amount mismatch: nothing changed

local status = redis.call('HGET', KEYS[1], 'status')
if not status then return { -1 } end
if status == 'PAID' then
  local stored = redis.call('HGET', KEYS[1], 'transactionId')
  if stored == ARGV[3] then return { 2 } end
  return { 3, stored }
end
local total = redis.call('HGET', KEYS[1], 'totalFen')
if total ~= ARGV[2] then return { -2, total } end

redis.call('HSET', KEYS[1], 'status', 'PAID', 'transactionId', ARGV[3], 'timeEnd', ARGV[4],
  'paidAt', ARGV[5], 'paidVia', ARGV[6])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('ZREM', KEYS[4], ARGV[1])
redis.call('HDEL', KEYS[5], ARGV[1])
redis.call('HDEL', KEYS[6], ARGV[1])
local eventId = redis.call('XADD', KEYS[2], '*',
  'type', 'order.paid', 'orderId', ARGV[1], 'outTradeNo', ARGV[1], 'transactionId', ARGV[3],
  'totalFen', total, 'source', ARGV[6], 'at', ARGV[5])
return { 1, status, eventId }
