-- set-prepared: record what placing the trade returned (prepay_id, code_url, mweb_url ...) and when, on an attempt
-- that is still OPEN of an order still PENDING. A late reply must not touch an attempt that ended or an order
-- already paid. Recording again on an OPEN attempt replaces both: an H5 trade is re-placed with identical
-- parameters for a fresh mweb_url, which lives 5 minutes (docs/channels.md).
--
-- KEYS[1] order hash   KEYS[2] attempts hash
-- ARGV[1] out_trade_no   ARGV[2] prepared (JSON)   ARGV[3] prepared at (epoch ms, '' when unknown)
--
-- Results:
--   { 1 }                    recorded
--   { 0, orderStatus, state } not OPEN / not PENDING: nothing written
--  { -1 }                    no such order or attempt

local status = redis.call('HGET', KEYS[1], 'status')
local state = redis.call('HGET', KEYS[2], ARGV[1] .. '.state')
if not status or not state then return { -1 } end
if status ~= 'PENDING' or state ~= 'OPEN' then return { 0, status, state } end
redis.call('HSET', KEYS[2], ARGV[1] .. '.prepared', ARGV[2])
if ARGV[3] ~= nil and ARGV[3] ~= '' then
  redis.call('HSET', KEYS[2], ARGV[1] .. '.preparedAt', ARGV[3])
else
  redis.call('HDEL', KEYS[2], ARGV[1] .. '.preparedAt')
end
return { 1 }
