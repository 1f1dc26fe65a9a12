-- uses: lib/transition.lua
-- close-attempt: an attempt WeChat confirmed closed (closeorder succeeded, orderquery says CLOSED, or WeChat
-- never knew the trade) becomes CLOSED. The order itself is not touched (mark-closed does that); once no
-- attempt is left to close and the order is no longer PENDING, it leaves the close queue.
--
-- KEYS[1..7] as in lib/transition.lua
-- ARGV[1] order id   ARGV[2] out_trade_no   ARGV[3] closedAt (ms)
--
-- Results:
--   { 1 }    closed now
--   { 2 }    already CLOSED
--  { -3 }    the attempt is PAID (or a combine with a paid sub-order): nothing changed
--  { -1 }    no such order or attempt

local id, no = ARGV[1], ARGV[2]
local status = redis.call('HGET', KEYS[1], 'status')
local state = attempt_get(no, 'state')
if not status or not state then return { -1 } end
if state == 'CLOSED' then return { 2 } end
if state == 'PAID' then return { -3 } end
-- A combine with a paid sub-order is not closed here: mark-combine decides (partly paid, refunded).
if paid_sub(no) then return { -3 } end
attempt_set(no, 'state', 'CLOSED', 'closedAt', ARGV[3], 'trade', 'closed')
close_subs(no, ARGV[3])
if status ~= 'PENDING' and unsettled() == 0 then dequeue(Q_CLOSE, id) end
return { 1 }
