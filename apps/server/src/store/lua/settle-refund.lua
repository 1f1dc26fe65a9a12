-- uses: lib/transition.lua
-- settle-refund: a refund's outcome from WeChat (notification or query), recorded once with its one event.
--   SUCCESS   the amount counts as refunded; the order goes PARTIALLY_REFUNDED or REFUNDED (when the refund is of
--             the payment that paid the order, or of one of its combine's sub-orders; refunds of a second payment leave the order as it is)
--   CLOSED    nothing was refunded: the amount is free to be refunded again
--   ABNORMAL  the money is held (the buyer's account could not take it): staff act; a later SUCCESS or CLOSED
--             from WeChat still settles it
-- SUCCESS and CLOSED are final.
--
-- KEYS[1] order hash   KEYS[2] attempts hash   KEYS[3] event stream   KEYS[4] refund queue   KEYS[5] refunds hash
-- KEYS[6] refund claim counts   KEYS[7..11] the status index (lib/transition.lua index_status)
-- ARGV[1] order id   ARGV[2] out_refund_no   ARGV[3] SUCCESS | CLOSED | ABNORMAL   ARGV[4] refund_id ('' = none)
-- ARGV[5] at (ms)   ARGV[6] source (notify | query | ...)
-- ARGV[7] the merchant WeChat names for the refund ('' = the shop's own)   ARGV[8] the shop's own mchid
--
-- Results:
--   { 1, orderStatus, eventId }   settled now
--   { 2, state }                  already in that state, or already final: nothing changed
--  { -1 }                         no such refund
--  { -4 }                         WeChat names another merchant than the refunded trade's: nothing changed

local id, no, outcome = ARGV[1], ARGV[2], ARGV[3]
local state = redis.call('HGET', KEYS[5], no .. '.state')
local status = redis.call('HGET', KEYS[1], 'status')
if not state or not status then return { -1 } end
-- A notification decrypted with one merchant's key may only settle that merchant's refunds (docs/combine.md).
local merchant = attempt_get(redis.call('HGET', KEYS[5], no .. '.trade'), 'mchid')
if merchant == ARGV[8] then merchant = nil end
if (merchant or '') ~= ARGV[7] then return { -4 } end
if state == outcome or state == 'SUCCESS' or state == 'CLOSED' then return { 2, state } end

local fen = tonumber(redis.call('HGET', KEYS[5], no .. '.fen'))
local trade = redis.call('HGET', KEYS[5], no .. '.trade')
redis.call('HSET', KEYS[5], no .. '.state', outcome, no .. '.settledAt', ARGV[5])
if ARGV[4] ~= '' then redis.call('HSET', KEYS[5], no .. '.refundId', ARGV[4]) end

if outcome == 'SUCCESS' then
  attempt_set(trade, 'refundedFen', tonumber(attempt_get(trade, 'refundedFen') or '0') + fen)
  status = refunded_status(id, status, trade)
elseif outcome == 'CLOSED' then
  attempt_set(trade, 'refundReserved', tonumber(attempt_get(trade, 'refundReserved') or '0') - fen)
end
-- Nothing more to send or ask: the outcome came.
dequeue(4, no)

local kind = outcome == 'SUCCESS' and 'refund.succeeded' or (outcome == 'CLOSED' and 'refund.closed' or 'refund.abnormal')
local fields = { 'type', kind, 'orderId', id, 'outTradeNo', trade, 'outRefundNo', no, 'refundFen', fen,
  'totalFen', redis.call('HGET', KEYS[1], 'totalFen'), 'source', ARGV[6], 'at', ARGV[5] }
-- A refund of another merchant's trade (a combine's sub-order) names that merchant: its own bill lists it.
name_merchant(fields, trade)
local eventId = redis.call('XADD', KEYS[3], 'MAXLEN', '~', EVENTS_MAX_LEN, '*', unpack(fields))
return { 1, status, eventId }
