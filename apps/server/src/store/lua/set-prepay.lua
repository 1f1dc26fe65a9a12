-- set-prepay: record the prepay_id of the latest unifiedorder for an order that is still PENDING.
-- A late unifiedorder reply must not touch an order that a notification already made PAID (or that was closed).
--
-- KEYS[1] order hash   <prefix>order:{<id>}
-- ARGV[1] prepay_id
--
-- Results:
--   { 1 }          recorded
--   { 0, status }  the order is no longer PENDING; nothing written
--  { -1 }          no such order

local status = redis.call('HGET', KEYS[1], 'status')
if not status then return { -1 } end
if status ~= 'PENDING' then return { 0, status } end
redis.call('HSET', KEYS[1], 'prepayId', ARGV[1])
return { 1 }
