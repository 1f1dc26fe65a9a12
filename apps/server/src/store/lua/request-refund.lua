-- uses: lib/transition.lua
-- request-refund: record a refund of a paid payment (an attempt, or a combine's sub-order) and queue it, enforcing atomically what WeChat
-- enforces: the refunds of a payment never add up to more than it (CLOSED ones free their amount), at most
-- ARGV[7] of them, none later than ARGV[8] after the payment. Refunds of one payment go out at least ARGV[6]
-- apart: a refund asked for sooner is queued for later, not refused. The out_refund_no is minted here, once.
--
-- KEYS[1] order hash   KEYS[2] attempts hash   KEYS[3] event stream (unused)
-- KEYS[4] refund queue <prefix>{s<n>}:due:refund (members: out_refund_no)
-- KEYS[5] refunds <prefix>{s<n>}:order:<id>:refunds
-- KEYS[6] refund claim counts
-- ARGV[1] order id   ARGV[2] out_trade_no   ARGV[3] refund (fen)   ARGV[4] doc (JSON: reason, requestedBy, createdAt)
-- ARGV[5] now (ms)   ARGV[6] min spacing (ms)   ARGV[7] max refunds   ARGV[8] max age (ms)
--
-- Results:
--   { 1, outRefundNo, seq, dueAt, totalFen }   recorded and queued
--   { 0 }               the payment is not PAID
--  { -1 }               no such order or attempt
--  { -2, remainingFen } more than what remains of the payment
--  { -4 }               ARGV[7] refunds already
--  { -6 }               the payment is older than ARGV[8]

local no, fen, now = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[5])
-- A combine's sub-order is a payment of its own amount; any other attempt paid the order's total.
local total = tonumber(attempt_get(no, 'total') or redis.call('HGET', KEYS[1], 'totalFen'))
local state = attempt_get(no, 'state')
if not total or not state then return { -1 } end
-- A combine is paid and refunded through its sub-orders, each a trade of its own merchant.
if attempt_get(no, 'subs') then return { -1 } end
if state ~= 'PAID' then return { 0 } end
if now - tonumber(attempt_get(no, 'paidAt')) > tonumber(ARGV[8]) then return { -6 } end
local reserved = tonumber(attempt_get(no, 'refundReserved') or '0')
if reserved + fen > total then return { -2, total - reserved } end
local count = tonumber(attempt_get(no, 'refundCount') or '0')
if count >= tonumber(ARGV[7]) then return { -4 } end

local seq = count + 1
local due = math.max(now, tonumber(attempt_get(no, 'refundLastDue') or '0') + tonumber(ARGV[6]))
local refundNo = no .. 'R' .. string.format('%02d', seq)
redis.call('HSET', KEYS[5], refundNo, ARGV[4], refundNo .. '.state', 'PENDING', refundNo .. '.fen', fen,
  refundNo .. '.trade', no, refundNo .. '.seq', seq, refundNo .. '.dueAt', due, refundNo .. '.total', total)
attempt_set(no, 'refundReserved', reserved + fen, 'refundCount', seq, 'refundLastDue', due)
redis.call('ZADD', KEYS[4], due, refundNo)
return { 1, refundNo, seq, due, total }
