-- mark-refund-sent: PENDING -> PROCESSING once WeChat accepted the refund; it is asked about again from ARGV[5].
--
-- KEYS[1] order hash   KEYS[2] attempts hash   KEYS[3] event stream (unused)   KEYS[4] refund queue
-- KEYS[5] refunds hash   KEYS[6] refund claim counts
-- ARGV[1] order id   ARGV[2] out_refund_no   ARGV[3] refund_id ('' when WeChat gave none)   ARGV[4] sentAt (ms)
-- ARGV[5] next query due (ms)
--
-- Results:
--   { 1 }          sent now
--   { 0, state }   not PENDING (already sent, or settled by a notification meanwhile): nothing changed
--  { -1 }          no such refund

local no = ARGV[2]
local state = redis.call('HGET', KEYS[5], no .. '.state')
if not state then return { -1 } end
if state ~= 'PENDING' then return { 0, state } end
redis.call('HSET', KEYS[5], no .. '.state', 'PROCESSING', no .. '.sentAt', ARGV[4])
if ARGV[3] ~= '' then redis.call('HSET', KEYS[5], no .. '.refundId', ARGV[3]) end
redis.call('ZADD', KEYS[4], ARGV[5], no)
redis.call('HDEL', KEYS[6], no)
return { 1 }
