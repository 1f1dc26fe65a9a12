-- finish-paid-message: WeChat answered the one send of the "payment succeeded" message: ACCEPTED -> SENT or
-- FAILED, and the order leaves the message queue (its claim count too). Any other state is final already:
-- nothing changes, so a late duplicate of the job cannot overwrite the recorded outcome.
--
-- KEYS[1] order hash      <prefix>{s<n>}:order:<id>
-- KEYS[2] message queue   <prefix>{s<n>}:due:message
-- KEYS[3] claim counts    <prefix>{s<n>}:due:message:attempts
-- ARGV[1] order id   ARGV[2] SENT | FAILED   ARGV[3] at (ms)   ARGV[4] reason ('' for none)   ARGV[5] msgid ('')
--
-- Results:
--   1    recorded
--   0    not ACCEPTED (already SENT, FAILED, DECLINED, or never answered): nothing changed
--  -1    no such order

if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
if redis.call('HGET', KEYS[1], 'pm.state') ~= 'ACCEPTED' then return 0 end
redis.call('HSET', KEYS[1], 'pm.state', ARGV[2], 'pm.doneAt', ARGV[3])
if ARGV[2] == 'SENT' then redis.call('HSET', KEYS[1], 'pm.sentAt', ARGV[3]) end
if ARGV[4] ~= '' then redis.call('HSET', KEYS[1], 'pm.reason', ARGV[4]) end
if ARGV[5] ~= '' then redis.call('HSET', KEYS[1], 'pm.msgid', ARGV[5]) end
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
return 1
