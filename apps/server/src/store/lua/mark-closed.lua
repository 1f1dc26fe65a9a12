-- uses: lib/transition.lua
-- mark-closed: PENDING -> CLOSED after WeChat confirmed the open attempt cannot be paid (closeorder succeeded,
-- orderquery says CLOSED, or WeChat never knew it). Appends exactly one order.closed event, atomically. A PAID
-- order stays PAID. Ended attempts not yet closed at WeChat keep the order in the close queue.
--
-- KEYS[1..7] as in lib/transition.lua   KEYS[8..12] the status index (lib/transition.lua index_status)
-- ARGV[1] id   ARGV[2] closedAt (ms)   ARGV[3] reason (expired | buyer | wechat_closed | ...)
-- ARGV[4] out_trade_no of the attempt WeChat confirmed closed ('' when none was open)
--
-- Results:
--   { 1, eventId }   made CLOSED now; one order.closed appended
--   { 2 }            already CLOSED: nothing changed
--  { -1 }            no such order
--  { -3 }            the order is PAID: nothing changed
--  { -5, openNo }    another attempt is OPEN (opened meanwhile): close it at WeChat first; nothing changed

local id, no = ARGV[1], ARGV[4]
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return { -1 } end
if status == 'CLOSED' then return { 2 } end
if is_paid(status) then return { -3 } end
local current = redis.call('HGET', KEYS[1], 'current')
if current and current ~= no and attempt_get(current, 'state') == 'OPEN' then return { -5, current } end

-- A combine with a paid sub-order is not closed: mark-combine decides (partly paid, refunded).
if no ~= '' and paid_sub(no) then return { -3 } end
local closedState = no ~= '' and attempt_get(no, 'state')
if closedState and closedState ~= 'PAID' then
  attempt_set(no, 'state', 'CLOSED', 'closedAt', ARGV[2], 'trade', 'closed')
  close_subs(no, ARGV[2])
end
redis.call('HSET', KEYS[1], 'status', 'CLOSED', 'closedAt', ARGV[2], 'closeReason', ARGV[3])
index_status(id, status, 'CLOSED')
dequeue(Q_QUERY, id)
settle_close_queue(id, ARGV[2])
local total = redis.call('HGET', KEYS[1], 'totalFen')
return { 1, emit('order.closed', id, current or '', total, ARGV[3], ARGV[2]) }
