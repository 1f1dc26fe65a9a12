-- uses: lib/transition.lua
-- mark-combine: what WeChat reports about a combine (合单) payment's sub-orders, applied in one step. A combine
-- attempt (field `subs`) pays the order through one sub-order per merchant; each sub-order is an attempt entry of
-- its own (fields `of` = the combine, `total` = its amount) so that refunds work per sub-order (docs/combine.md).
-- Shared by the combine notification, the combine query and closeorder's ORDERPAID, so whichever learns first
-- wins and the others change nothing.
--
--  - Every sub-order paid: the combine is PAID and the order PAID (one order.paid). An order already PAID by
--    another attempt is a double payment: every sub-order's full refund is requested in the same step.
--  - Some sub-orders paid and the others can no longer be paid (WeChat closed or failed them): a partial payment.
--    The order cannot be delivered as bought, so it is PAID with the amount actually paid (`paidFen`, one
--    order.paid and one combine.partial) and every paid sub-order's full refund is requested in the same step,
--    so no crash can leave the buyer charged for half an order. A combine the buyer had already replaced by
--    another attempt is refunded the same way but leaves the order PENDING (one payment.duplicate): the attempt
--    being paid now stays payable.
--  - No sub-order paid and none can be any more: the combine ENDED (failed); paying again opens a new attempt.
--  - Otherwise (some still payable): the paid ones are recorded, nothing else changes yet.
--  - A sub-order paid after its combine was settled (partly paid, refunded) is a second payment: its full refund
--    is requested in the same step, with one payment.duplicate.
--
-- KEYS[1..7] as in lib/transition.lua
-- KEYS[8] refund queue <prefix>{s<n>}:due:refund   KEYS[9] refunds <prefix>{s<n>}:order:<id>:refunds
-- KEYS[10] message queue <prefix>{s<n>}:due:message
-- KEYS[11..15] the status index (lib/transition.lua index_status: always the last five)
-- ARGV[1] order id   ARGV[2] combine_out_trade_no   ARGV[3] source (notify | query | close)   ARGV[4] now (ms)
-- ARGV[5] the refunds' doc for a partial payment, ARGV[6] for a double payment (JSON: reason, requestedBy,
-- createdAt)   ARGV[7] n, the number of sub-orders reported
-- then per sub-order i (base = 8 + 6 * (i - 1)): out_trade_no, outcome (paid | failed | open),
--   transaction_id, total reported (fen), paid at (ms), the merchant WeChat names for it
--
-- Results:
--   { 1, previousStatus, eventId }            every sub-order paid: the order PAID now
--   { 2 }                                     nothing new (a duplicate)
--   { 4, paidAttempt, eventId, refundNos... } a second payment of a paid order: full refunds requested
--   { 5, previousStatus, eventId, refundNos... }  partially paid: PAID with paidFen, full refunds requested
--   { 6 }                                     nothing paid and nothing payable: the combine ENDED (failed)
--   { 7, paidCount }                          progress recorded; sub-orders still payable
--  { -1 }                                     no such order, combine or sub-order (or one of another combine)
--  { -2, out_trade_no, storedTotalFen }       a paid sub-order's amount differs: nothing changed
--  { -3, out_trade_no, storedTransactionId }  a paid sub-order already has another transaction_id: nothing changed
--  { -4, out_trade_no }                      WeChat names another merchant than the sub-order's: nothing changed

local id, cno, source, now = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local status = redis.call('HGET', KEYS[1], 'status')
local cstate = attempt_get(cno, 'state')
local listed = attempt_get(cno, 'subs')
if not status or not cstate or not listed then return { -1 } end

local n = tonumber(ARGV[7])
local reports = {}
for i = 1, n do
  local b = 8 + 6 * (i - 1)
  local no = ARGV[b]
  if attempt_get(no, 'of') ~= cno then return { -1 } end
  -- A notification decrypted with one merchant's key may only speak for that merchant's trades.
  if attempt_get(no, 'mchid') ~= ARGV[b + 5] then return { -4, no } end
  reports[#reports + 1] = { no = no, outcome = ARGV[b + 1], tx = ARGV[b + 2], total = ARGV[b + 3], at = ARGV[b + 4] }
end
-- Checks first: a wrong amount or transaction changes nothing at all.
for _, r in ipairs(reports) do
  if r.outcome == 'paid' then
    local stored = attempt_get(r.no, 'total')
    if stored ~= r.total then return { -2, r.no, stored } end
    if attempt_get(r.no, 'state') == 'PAID' and attempt_get(r.no, 'tx') ~= r.tx then
      return { -3, r.no, attempt_get(r.no, 'tx') }
    end
  end
end

local changed = false
local newlyPaid = {}
local firstTx, lastPaidAt = nil, '0'
for _, r in ipairs(reports) do
  local state = attempt_get(r.no, 'state')
  if r.outcome == 'paid' and state ~= 'PAID' then
    attempt_set(r.no, 'state', 'PAID', 'tx', r.tx, 'paidAt', r.at, 'via', source, 'trade', 'paid')
    newlyPaid[#newlyPaid + 1] = r.no
    changed = true
  elseif r.outcome == 'failed' and state == 'OPEN' then
    attempt_set(r.no, 'state', 'CLOSED', 'closedAt', now, 'trade', 'failed')
    changed = true
  end
end

-- The combine's sub-orders as stored now.
local subs, paid, closed, paidFen = {}, 0, 0, 0
for sub in string.gmatch(listed, '[^,]+') do
  subs[#subs + 1] = sub
  local state = attempt_get(sub, 'state')
  if state == 'PAID' then
    paid = paid + 1
    paidFen = paidFen + tonumber(attempt_get(sub, 'total'))
    firstTx = firstTx or attempt_get(sub, 'tx')
    local at = attempt_get(sub, 'paidAt')
    if tonumber(at) > tonumber(lastPaidAt) then lastPaidAt = at end
  elseif state == 'CLOSED' then
    closed = closed + 1
  end
end

-- The paid sub-orders, as the events name them (the ledger reads each merchant's payments from them):
-- `subOrders` = out_trade_no|transaction_id|fen|mchid, comma-separated.
local function paid_subs()
  local parts = {}
  for _, sub in ipairs(subs) do
    if attempt_get(sub, 'state') == 'PAID' then
      parts[#parts + 1] = table.concat({ sub, attempt_get(sub, 'tx'), attempt_get(sub, 'total'),
        attempt_get(sub, 'mchid') or '' }, '|')
    end
  end
  return { 'subOrders', table.concat(parts, ',') }
end

-- Requests the full refund of every paid sub-order (their first refund: nothing was refunded before).
local function refund_paid(doc)
  local nos = {}
  for _, sub in ipairs(subs) do
    -- Not twice: a sub-order with a refund already (requested here, or recorded from the bill) is left alone.
    if attempt_get(sub, 'state') == 'PAID' and not attempt_get(sub, 'refundCount')
      and not attempt_get(sub, 'refundReserved') then
      local fen = attempt_get(sub, 'total')
      local refundNo = sub .. 'R01'
      redis.call('HSET', KEYS[9], refundNo, doc, refundNo .. '.state', 'PENDING', refundNo .. '.fen', fen,
        refundNo .. '.trade', sub, refundNo .. '.seq', 1, refundNo .. '.dueAt', now, refundNo .. '.total', fen)
      attempt_set(sub, 'refundReserved', fen, 'refundCount', 1, 'refundLastDue', now)
      redis.call('ZADD', KEYS[8], now, refundNo)
      nos[#nos + 1] = refundNo
    end
  end
  return nos
end

-- The order becomes PAID through this combine (the whole of it, or `paidFen` of a partial payment).
local function order_paid(fen)
  index_status(id, status, 'PAID')
  redis.call('HSET', KEYS[1], 'status', 'PAID', 'paidAttempt', cno, 'transactionId', firstTx,
    'paidAt', lastPaidAt, 'paidVia', source)
  if fen then redis.call('HSET', KEYS[1], 'paidFen', fen) end
  local current = redis.call('HGET', KEYS[1], 'current')
  if current ~= cno and attempt_get(current, 'state') == 'OPEN' then
    attempt_set(current, 'state', 'ENDED', 'end', 'order_paid', 'endedAt', now)
  end
  dequeue(Q_QUERY, id)
  settle_close_queue(id, now)
end

if cstate == 'PAID' or (cstate == 'CLOSED' and paid == 0) then
  if #newlyPaid == 0 then return { 2 } end
  -- Paid after the combine was settled: the money cannot be delivered against anything, so it goes back.
  local nos = refund_paid(ARGV[6])
  settle_close_queue(id, now)
  local fen = 0
  for _, sub in ipairs(newlyPaid) do fen = fen + tonumber(attempt_get(sub, 'total')) end
  local reply = { 4, redis.call('HGET', KEYS[1], 'paidAttempt') or '',
    emit('payment.duplicate', id, cno, fen, source, lastPaidAt, attempt_get(newlyPaid[1], 'tx'), paid_subs()) }
  for _, no in ipairs(nos) do reply[#reply + 1] = no end
  return reply
end

if paid == #subs then
  attempt_set(cno, 'state', 'PAID', 'tx', firstTx, 'paidAt', lastPaidAt, 'via', source, 'trade', 'paid')
  local total = redis.call('HGET', KEYS[1], 'totalFen')
  if is_paid(status) then
    local paidAttempt = redis.call('HGET', KEYS[1], 'paidAttempt')
    settle_close_queue(id, now)
    local nos = refund_paid(ARGV[6])
    local reply = { 4, paidAttempt, emit('payment.duplicate', id, cno, total, source, lastPaidAt, firstTx, paid_subs()) }
    for _, no in ipairs(nos) do reply[#reply + 1] = no end
    return reply
  end
  order_paid(nil)
  if redis.call('HGET', KEYS[1], 'pm.state') == 'ACCEPTED' then redis.call('ZADD', KEYS[10], now, id) end
  return { 1, status, emit('order.paid', id, cno, total, source, lastPaidAt, firstTx, paid_subs()) }
end

if paid + closed == #subs then
  if paid == 0 then
    if cstate ~= 'OPEN' then return { 2 } end
    attempt_set(cno, 'state', 'ENDED', 'end', 'failed', 'trade', 'failed', 'endedAt', now)
    dequeue(Q_QUERY, id)
    due_by(Q_CLOSE, id, now)
    return { 6 }
  end
  attempt_set(cno, 'state', 'PAID', 'tx', firstTx, 'paidAt', lastPaidAt, 'via', source, 'trade', 'paid',
    'partial', paidFen)
  -- A combine the buyer had already replaced (another channel, a new attempt) that pays only in part: the money
  -- goes back and the order stays as it is, so the attempt the buyer is paying now stays payable.
  local superseded = status == 'PENDING' and redis.call('HGET', KEYS[1], 'current') ~= cno
  local nos = refund_paid((is_paid(status) or superseded) and ARGV[6] or ARGV[5])
  local reply
  if is_paid(status) or superseded then
    reply = { 4, redis.call('HGET', KEYS[1], 'paidAttempt') or '',
      emit('payment.duplicate', id, cno, paidFen, source, lastPaidAt, firstTx, paid_subs()) }
    settle_close_queue(id, now)
  else
    order_paid(paidFen)
    -- Flagged: what was paid goes back, so nothing must be shipped on this order.paid (docs/combine.md).
    local extra = paid_subs()
    extra[#extra + 1] = 'partial'
    extra[#extra + 1] = '1'
    local eventId = emit('order.paid', id, cno, paidFen, source, lastPaidAt, firstTx, extra)
    emit('combine.partial', id, cno, paidFen, source, now)
    reply = { 5, status, eventId }
  end
  for _, no in ipairs(nos) do reply[#reply + 1] = no end
  return reply
end

if changed then return { 7, paid } end
return { 2 }
