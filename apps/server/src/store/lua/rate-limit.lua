-- rate-limit: one hit on a fixed-window counter (docs/channels.md "Guest"). The caller names the window in the
-- key (its length and start), so the count restarts with each window whatever Redis's clock says, and the
-- key expires once its window is over. INCR and PEXPIRE run together: a counter never lives without a TTL.
--
-- KEYS[1] counter   <prefix>rate:{<bucket>}:<window ms>:<window start ms>   (string: hits in the window)
-- ARGV[1] TTL (ms): from now to the end of the window, plus a margin for clock skew between processes
--
-- Result: the number of hits in the window, this one included.

local count = redis.call('INCR', KEYS[1])
if count == 1 or redis.call('PTTL', KEYS[1]) < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
return count
