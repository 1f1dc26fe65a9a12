-- refund-request: the buyer's request for a refund of a paid order, and the one decision on it.
--   ask:     no open request (none, or the last one decided) -> REQUESTED; an open one is reported, unchanged
--   approve / reject: REQUESTED -> APPROVED / REJECTED, once (two staff members deciding at once: one wins)
--
-- KEYS[1] order hash   <prefix>{s<n>}:order:<id>
-- ARGV[1] ask | approve | reject   ARGV[2] at (ms)   ARGV[3] ask: the reason; decisions: who decided
-- ARGV[4] approve: the out_refund_no of the refund it requested ('' otherwise)
--
-- Results:
--   { 1 }          done
--   { 2, state }   ask: a request is open already (REQUESTED); decisions: not REQUESTED (state given)
--   { 0, status }  ask: the order is not paid
--  { -1 }          no such order

local status = redis.call('HGET', KEYS[1], 'status')
if not status then return { -1 } end
local state = redis.call('HGET', KEYS[1], 'rr.state')
if ARGV[1] == 'ask' then
  if status ~= 'PAID' and status ~= 'PARTIALLY_REFUNDED' then return { 0, status } end
  if state == 'REQUESTED' then return { 2, state } end
  redis.call('HSET', KEYS[1], 'rr.state', 'REQUESTED', 'rr.reason', ARGV[3], 'rr.at', ARGV[2])
  redis.call('HDEL', KEYS[1], 'rr.decidedAt', 'rr.decidedBy', 'rr.refund')
  return { 1 }
end
if state ~= 'REQUESTED' then return { 2, state or '' } end
redis.call('HSET', KEYS[1], 'rr.state', ARGV[1] == 'approve' and 'APPROVED' or 'REJECTED',
  'rr.decidedAt', ARGV[2], 'rr.decidedBy', ARGV[3])
if ARGV[4] ~= '' then redis.call('HSET', KEYS[1], 'rr.refund', ARGV[4]) end
return { 1 }
