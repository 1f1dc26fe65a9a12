-- uses: lib/transition.lua
-- end-attempt: OPEN -> ENDED when WeChat says the trade can no longer be paid by the buyer (PAYERROR). The
-- order stays PENDING: paying again opens a new attempt. The ended trade is closed at WeChat by the close queue.
--
-- KEYS[1..7] as in lib/transition.lua
-- ARGV[1] order id   ARGV[2] out_trade_no   ARGV[3] reason (failed | ...)   ARGV[4] WeChat trade state
-- ARGV[5] close due (ms)   ARGV[6] now (ms)
--
-- Results:
--   { 1 }          ended now
--   { 0, state }   the attempt is not OPEN: nothing changed
--  { -1 }          no such order or attempt

local id, no = ARGV[1], ARGV[2]
local state = attempt_get(no, 'state')
if not state or redis.call('EXISTS', KEYS[1]) == 0 then return { -1 } end
if state ~= 'OPEN' then return { 0, state } end
attempt_set(no, 'state', 'ENDED', 'end', ARGV[3], 'trade', ARGV[4], 'endedAt', ARGV[6])
-- Nothing to ask WeChat about until the buyer pays again (a new attempt re-queues the order).
dequeue(Q_QUERY, id)
due_by(Q_CLOSE, id, ARGV[5])
return { 1 }
