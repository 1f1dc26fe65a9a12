-- uses: lib/transition.lua
-- mark-paid: the one transition to paid, shared by the notification, orderquery and closeorder(ORDERPAID).
-- Compare-and-set on the attempt's state plus an amount check, then exactly one event, all atomically:
-- concurrent duplicates from several processes change nothing twice.
--
--  - The first paid attempt makes the order PAID (one order.paid). A CLOSED order can still become PAID: WeChat,
--    the authority on money, says the buyer paid, and the money must be fulfilled or refunded.
--  - A second attempt paid for an order already PAID is a double payment: recorded on its attempt, emitted once
--    as payment.duplicate, and its full refund requested in the same step (out_refund_no <no>R01, queued at once),
--    so that no crash can leave the buyer charged twice; the order stays as it is.
--  - An OPEN attempt that did not pay can no longer be offered: it becomes ENDED and is closed at WeChat.
--
-- KEYS[1..7] as in lib/transition.lua
-- KEYS[8] refund queue <prefix>{s<n>}:due:refund   KEYS[9] refunds <prefix>{s<n>}:order:<id>:refunds
-- KEYS[10] message queue <prefix>{s<n>}:due:message   (an accepted "payment succeeded" message is due now)
-- KEYS[11..15] the status index (lib/transition.lua index_status: always the last five)
-- ARGV[1] order id   ARGV[2] out_trade_no   ARGV[3] total reported by WeChat (fen)   ARGV[4] transaction_id
-- ARGV[5] paidAt (ms)   ARGV[6] source (notify | query | close)   ARGV[7] now (ms)
-- ARGV[8] the refund's doc for a double payment (JSON: reason, requestedBy, createdAt)
-- ARGV[9] the merchant WeChat names for the trade when it is not the shop's own ('' otherwise)
--
-- Results:
--   { 1, previousStatus, eventId }  made the order PAID now; one order.paid appended
--   { 2 }                           this attempt already PAID with this transaction_id: nothing changed
--   { 3, storedTransactionId }      this attempt already PAID with another transaction_id: nothing changed
--   { 4, paidAttempt, eventId, outRefundNo }  second payment of a paid order; one payment.duplicate appended and
--                                             its full refund requested
--  { -1 }                           no such order or attempt
--  { -2, storedTotalFen }           amount mismatch: nothing changed
--  { -4 }                           WeChat names another merchant than the attempt's: nothing changed

local id, no, tx = ARGV[1], ARGV[2], ARGV[4]
local status = redis.call('HGET', KEYS[1], 'status')
local state = attempt_get(no, 'state')
if not status or not state then return { -1 } end
-- A notification decrypted with one merchant's key may only speak for that merchant's trades.
if (attempt_get(no, 'mchid') or '') ~= ARGV[9] then return { -4 } end
if state == 'PAID' then
  local stored = attempt_get(no, 'tx')
  if stored == tx then return { 2 } end
  return { 3, stored }
end
local total = redis.call('HGET', KEYS[1], 'totalFen')
if total ~= ARGV[3] then return { -2, total } end

attempt_set(no, 'state', 'PAID', 'tx', tx, 'paidAt', ARGV[5], 'via', ARGV[6], 'trade', 'paid')

if is_paid(status) then
  local paidAttempt = redis.call('HGET', KEYS[1], 'paidAttempt')
  settle_close_queue(id, ARGV[7])
  local refundNo = no .. 'R01'
  redis.call('HSET', KEYS[9], refundNo, ARGV[8], refundNo .. '.state', 'PENDING', refundNo .. '.fen', total,
    refundNo .. '.trade', no, refundNo .. '.seq', 1, refundNo .. '.dueAt', ARGV[7], refundNo .. '.total', total)
  attempt_set(no, 'refundReserved', total, 'refundCount', 1, 'refundLastDue', ARGV[7])
  redis.call('ZADD', KEYS[8], ARGV[7], refundNo)
  return { 4, paidAttempt, emit('payment.duplicate', id, no, total, ARGV[6], ARGV[5], tx), refundNo }
end

index_status(id, status, 'PAID')
redis.call('HSET', KEYS[1], 'status', 'PAID', 'paidAttempt', no, 'transactionId', tx,
  'paidAt', ARGV[5], 'paidVia', ARGV[6])
local current = redis.call('HGET', KEYS[1], 'current')
if current ~= no and attempt_get(current, 'state') == 'OPEN' then
  attempt_set(current, 'state', 'ENDED', 'end', 'order_paid', 'endedAt', ARGV[7])
end
dequeue(Q_QUERY, id)
settle_close_queue(id, ARGV[7])
-- The buyer accepted the subscribe message before paying: it is sent now (docs/subscribe-messages.md).
if redis.call('HGET', KEYS[1], 'pm.state') == 'ACCEPTED' then redis.call('ZADD', KEYS[10], ARGV[7], id) end
return { 1, status, emit('order.paid', id, no, total, ARGV[6], ARGV[5], tx) }
