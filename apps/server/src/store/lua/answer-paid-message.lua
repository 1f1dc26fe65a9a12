-- answer-paid-message: the buyer's answer to wx.requestSubscribeMessage for the order's "payment succeeded"
-- message (docs/subscribe-messages.md). The first answer wins: answering again changes nothing, so a retried or
-- duplicated request cannot turn a refusal into a send, nor queue the message twice. A CLOSED order takes no
-- answer. An accept for an order already paid is queued at once; otherwise mark-paid queues it.
--
-- KEYS[1] order hash      <prefix>{s<n>}:order:<id>
-- KEYS[2] message queue   <prefix>{s<n>}:due:message   (sorted set, score = due time in ms)
-- ARGV[1] order id   ARGV[2] template id   ARGV[3] answer (accept | reject | ban | filter)   ARGV[4] at (ms)
-- ARGV[5] the mini-program's appid   ARGV[6] the buyer's openid under it
--
-- Results:
--   { 1, queued }   recorded now (state ACCEPTED or DECLINED); queued 1 when due for sending now
--   { 2, state }    an answer was recorded before: nothing changed
--   { 0 }           the order is CLOSED: nothing recorded
--  { -1 }           no such order

local status = redis.call('HGET', KEYS[1], 'status')
if not status then return { -1 } end
local state = redis.call('HGET', KEYS[1], 'pm.state')
if state then return { 2, state } end
if status == 'CLOSED' then return { 0 } end
local accepted = ARGV[3] == 'accept'
redis.call('HSET', KEYS[1], 'pm.state', accepted and 'ACCEPTED' or 'DECLINED', 'pm.template', ARGV[2],
  'pm.answer', ARGV[3], 'pm.at', ARGV[4], 'pm.appid', ARGV[5], 'pm.openid', ARGV[6])
if accepted and redis.call('HEXISTS', KEYS[1], 'paidAt') == 1 then
  redis.call('ZADD', KEYS[2], ARGV[4], ARGV[1])
  return { 1, 1 }
end
return { 1, 0 }
