-- set-scan-prepay: record the prepay_id of the NATIVE trade a mode-1 scan placed (docs/channels.md "Native mode
-- 1"), compare-and-set: only on an attempt still OPEN of an order still PENDING, and only the first one. It is a
-- field of its own, so the signed long link in `prepared` is never rewritten from a stale copy, and a close that
-- ended the attempt first (close-attempt / end-attempt) makes the scan refuse instead of answering a prepay_id.
--
-- KEYS[1] order hash   KEYS[2] attempts hash
-- ARGV[1] out_trade_no   ARGV[2] prepay_id   ARGV[3] recorded at (epoch ms)
--
-- Results:
--   { 1, prepayId }           recorded (prepayId = ARGV[2])
--   { 2, prepayId }           a scan recorded one first: nothing written, answer with that one
--   { 0, orderStatus, state } not OPEN / not PENDING: nothing written
--  { -1 }                     no such order or attempt

local status = redis.call('HGET', KEYS[1], 'status')
local state = redis.call('HGET', KEYS[2], ARGV[1] .. '.state')
if not status or not state then return { -1 } end
if status ~= 'PENDING' or state ~= 'OPEN' then return { 0, status, state } end
local existing = redis.call('HGET', KEYS[2], ARGV[1] .. '.scanPrepay')
if existing then return { 2, existing } end
redis.call('HSET', KEYS[2], ARGV[1] .. '.scanPrepay', ARGV[2], ARGV[1] .. '.scanPrepayAt', ARGV[3])
return { 1, ARGV[2] }
