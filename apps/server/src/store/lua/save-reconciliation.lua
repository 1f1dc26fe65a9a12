-- save-reconciliation: stores the report of one reconciled Beijing date and, when its content changed, appends
-- one `reconciliation.completed` event with the counts (docs/reconciliation.md "Reports"). Re-running a date
-- that found the same things stores the same report and appends nothing: a consumer hears of each outcome once.
-- The keys share the hash tag {recon} (one Cluster slot), separate from the order shards.
--
-- KEYS[1] the report hash   <prefix>{recon}:report:<date> (the shop's own bill), <prefix>{recon}:report:<date>:<mchid>
--         (another merchant's)   (json, csv, runs, lastRunAt)
-- KEYS[2] reconciliation events    <prefix>{recon}:events
-- ARGV[1] date (YYYY-MM-DD)   ARGV[2] report JSON   ARGV[3] report CSV   ARGV[4] counts JSON   ARGV[5] now (ms)
-- ARGV[6] the stream's length cap   ARGV[7] the merchant's mchid for another merchant's report, '' for the shop's own
--
-- Results:
--   { 1, eventId }   stored, changed (or first): event appended
--   { 2 }            stored, same content as before: no event

local same = redis.call('HGET', KEYS[1], 'json') == ARGV[2]
redis.call('HSET', KEYS[1], 'json', ARGV[2], 'csv', ARGV[3], 'lastRunAt', ARGV[5])
redis.call('HINCRBY', KEYS[1], 'runs', 1)
if same then return { 2 } end
local fields = { 'type', 'reconciliation.completed', 'date', ARGV[1] }
if ARGV[7] ~= nil and ARGV[7] ~= '' then
  fields[#fields + 1] = 'mchid'
  fields[#fields + 1] = ARGV[7]
end
for _, v in ipairs({ 'counts', ARGV[4], 'at', ARGV[5] }) do fields[#fields + 1] = v end
local eventId = redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[6], '*', unpack(fields))
return { 1, eventId }
