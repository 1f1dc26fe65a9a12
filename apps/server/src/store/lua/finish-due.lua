-- finish-due: remove an order from one background queue (nothing left to do there) with its attempt count.
--
-- KEYS[1] queue   KEYS[2] attempts hash   ARGV[1] id
--
-- Result: 1 when the order was queued, 0 when it was not (a transition removed it already).

redis.call('HDEL', KEYS[2], ARGV[1])
return redis.call('ZREM', KEYS[1], ARGV[1])
