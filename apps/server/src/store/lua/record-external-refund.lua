-- uses: lib/transition.lua
-- record-external-refund: a refund WeChat's bill shows that this shop never requested (made by staff in the
-- merchant console), recorded once as a fact (docs/reconciliation.md "Refunds unknown here"). It is kept beside
-- the shop's own refunds as the field `x:<out_refund_no>` of the refunds hash (refundsFromHash skips it: it has
-- no `<out_trade_no>R<nn>` number), counts as refunded and reserved on the payment, so the shop can never
-- refund that money again, moves the order to PARTIALLY_REFUNDED / REFUNDED like settle-refund (a combine's
-- sub-order included: lib/transition.lua refunded_status), and appends one
-- `refund.external` event (naming the trade's merchant when it has one). Recording it again changes nothing.
--
-- KEYS[1] order hash   KEYS[2] attempts hash   KEYS[3] event stream   KEYS[4] refund queue (unused)
-- KEYS[5] refunds hash   KEYS[6] refund claim counts (unused)   KEYS[7..11] the status index
-- ARGV[1] order id   ARGV[2] out_trade_no   ARGV[3] out_refund_no   ARGV[4] refund_id   ARGV[5] refund (fen)
-- ARGV[6] at (ms, WeChat's refund time)   ARGV[7] doc (JSON: refundId, refundFen, at, source)   ARGV[8] source
--
-- Results:
--   { 1, orderStatus, eventId }   recorded now
--   { 2 }                         already recorded: nothing changed
--   { 3 }                         the shop's own refund of that number: not external
--   { 0 }                         the payment is not PAID here
--  { -1 }                         no such order or attempt

local id, trade, no, fen = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[5])
local status = redis.call('HGET', KEYS[1], 'status')
local state = attempt_get(trade, 'state')
if not status or not state then return { -1 } end
if redis.call('HEXISTS', KEYS[5], 'x:' .. no) == 1 then return { 2 } end
if redis.call('HEXISTS', KEYS[5], no) == 1 then return { 3 } end
if state ~= 'PAID' then return { 0 } end

redis.call('HSET', KEYS[5], 'x:' .. no, ARGV[7])
local refunded = tonumber(attempt_get(trade, 'refundedFen') or '0') + fen
attempt_set(trade, 'refundedFen', refunded,
  'refundReserved', tonumber(attempt_get(trade, 'refundReserved') or '0') + fen)
status = refunded_status(id, status, trade)
local fields = { 'type', 'refund.external', 'orderId', id, 'outTradeNo', trade, 'outRefundNo', no,
  'refundFen', fen, 'totalFen', redis.call('HGET', KEYS[1], 'totalFen'), 'source', ARGV[8], 'at', ARGV[6] }
-- A console refund of another merchant's trade (found in that merchant's bill) names it, like settle-refund:
-- the next run's ledger puts it in that merchant's bill, not the shop's.
name_merchant(fields, trade)
local eventId = redis.call('XADD', KEYS[3], 'MAXLEN', '~', EVENTS_MAX_LEN, '*', unpack(fields))
return { 1, status, eventId }
