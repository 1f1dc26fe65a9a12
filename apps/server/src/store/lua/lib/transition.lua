-- Shared by every order transition script; scripts.ts puts this file in front of each script that declares
-- `-- uses: lib/transition.lua`, so these steps are written once.
--
-- Transition scripts all take the same first seven KEYS, all in the order's shard {s<n>} (one Cluster slot):
--   KEYS[1] order hash         <prefix>{s<n>}:order:<id>
--   KEYS[2] attempts hash      <prefix>{s<n>}:order:<id>:attempts   (<no>.<field> for each attempt's fields)
--   KEYS[3] event stream       <prefix>{s<n>}:events
--   KEYS[4] query queue        <prefix>{s<n>}:due:query    KEYS[6] its claim counts   <prefix>{s<n>}:due:query:attempts
--   KEYS[5] close queue        <prefix>{s<n>}:due:close    KEYS[7] its claim counts   <prefix>{s<n>}:due:close:attempts
-- and one ARGV more than their own header lists, always the LAST (scripts.ts appends it):
--   ARGV[#ARGV] the event stream's length cap (XADD MAXLEN ~, docs/scaling.md "Events")

local EVENTS_MAX_LEN = ARGV[#ARGV]

local Q_QUERY, Q_CLOSE = 4, 5

-- An order that was paid stays paid through its refunds.
local function is_paid(status)
  return status == 'PAID' or status == 'PARTIALLY_REFUNDED' or status == 'REFUNDED'
end

-- The status index: one sorted set per order status (score = createdAt), given as the LAST five KEYS of every
-- script that changes an order's status, in this order (src/store/redis/keys.ts statusKeys).
local STATUS_SLOTS = { PENDING = 1, PAID = 2, CLOSED = 3, PARTIALLY_REFUNDED = 4, REFUNDED = 5 }
local function index_status(id, from, to)
  local base = #KEYS - 5
  local score = redis.call('HGET', KEYS[1], 'createdAt')
  if from then
    local old = base + STATUS_SLOTS[from]
    redis.call('ZREM', KEYS[old], id)
  end
  local slot = base + STATUS_SLOTS[to]
  redis.call('ZADD', KEYS[slot], score, id)
end

-- The order leaves one background queue (nothing left to do there), with its claim count.
local function dequeue(queue, id)
  redis.call('ZREM', KEYS[queue], id)
  redis.call('HDEL', KEYS[queue + 2], id)
end

-- The order is due in a queue no later than `at` (added when absent, moved earlier when queued later).
local function due_by(queue, id, at)
  redis.call('ZADD', KEYS[queue], 'LT', at, id)
end

local function attempt_get(no, field)
  return redis.call('HGET', KEYS[2], no .. '.' .. field)
end

local function attempt_set(no, ...)
  local args = { ... }
  local flat = {}
  for i = 1, #args, 2 do
    flat[#flat + 1] = no .. '.' .. args[i]
    flat[#flat + 1] = args[i + 1]
  end
  redis.call('HSET', KEYS[2], unpack(flat))
end

-- How many attempts of the order WeChat could still let the buyer pay (OPEN or ENDED). A combine payment's
-- sub-orders (field `of`) are not counted: they are paid or closed through their combine.
local function unsettled()
  local all = redis.call('HGETALL', KEYS[2])
  local subs, states = {}, {}
  for i = 1, #all, 2 do
    local name = all[i]
    if string.sub(name, -3) == '.of' then
      subs[string.sub(name, 1, -4)] = true
    elseif string.sub(name, -6) == '.state' then
      states[string.sub(name, 1, -7)] = all[i + 1]
    end
  end
  local n = 0
  for no, value in pairs(states) do
    if not subs[no] and (value == 'OPEN' or value == 'ENDED') then n = n + 1 end
  end
  return n
end

-- Who is paid, written beside a new attempt (create-order, open-attempt; docs/combine.md): ARGV[from] is the
-- attempt's merchant when it is not the shop's own ('' otherwise), ARGV[from + 1] the number of its combine
-- sub-orders, then per sub-order its out_trade_no, doc (JSON), amount (fen) and merchant. The combine lists them
-- in `subs`; each merchant is kept in a field of its own so that events can name it (emit, settle-refund).
local function write_parts(no, from)
  if ARGV[from] ~= '' then attempt_set(no, 'mchid', ARGV[from]) end
  local k = tonumber(ARGV[from + 1])
  if k == 0 then return end
  local listed = {}
  for i = 1, k do
    local b = from + 2 + 4 * (i - 1)
    local sub = ARGV[b]
    redis.call('HSET', KEYS[2], sub, ARGV[b + 1], sub .. '.state', 'OPEN', sub .. '.of', no, sub .. '.total',
      ARGV[b + 2], sub .. '.mchid', ARGV[b + 3])
    listed[#listed + 1] = sub
  end
  attempt_set(no, 'subs', table.concat(listed, ','))
end

-- Whether a combine has a paid sub-order (false for any other attempt).
local function paid_sub(no)
  local listed = attempt_get(no, 'subs')
  if not listed then return false end
  for sub in string.gmatch(listed, '[^,]+') do
    if attempt_get(sub, 'state') == 'PAID' then return true end
  end
  return false
end

-- A combine closed at WeChat closes its unpaid sub-orders with it (a no-op for any other attempt).
local function close_subs(no, at)
  local listed = attempt_get(no, 'subs')
  if not listed then return end
  for sub in string.gmatch(listed, '[^,]+') do
    if attempt_get(sub, 'state') == 'OPEN' then attempt_set(sub, 'state', 'CLOSED', 'closedAt', at, 'trade', 'closed') end
  end
end

-- Once nothing is left to close at WeChat, the order leaves the close queue; otherwise it is due at `at`.
local function settle_close_queue(id, at)
  if unsettled() == 0 then dequeue(Q_CLOSE, id) else due_by(Q_CLOSE, id, at) end
end

-- After a refund of `trade` succeeded (settle-refund, record-external-refund): the order goes PARTIALLY_REFUNDED
-- or REFUNDED when `trade` is the payment that paid it or one of its combine's sub-orders, measured against what
-- was paid (`paidFen` of a partially paid combine, else the total) and, for a combine, everything refunded over
-- its sub-orders. Refunds of a second payment leave the order as it is. Returns the order's status.
local function refunded_status(id, status, trade)
  local paidAttempt = redis.call('HGET', KEYS[1], 'paidAttempt')
  local of = attempt_get(trade, 'of')
  if paidAttempt ~= trade and not (of and of == paidAttempt) then return status end
  local total = tonumber(redis.call('HGET', KEYS[1], 'paidFen') or redis.call('HGET', KEYS[1], 'totalFen'))
  local refunded = 0
  if of then
    for sub in string.gmatch(attempt_get(of, 'subs'), '[^,]+') do
      refunded = refunded + tonumber(attempt_get(sub, 'refundedFen') or '0')
    end
  else
    refunded = tonumber(attempt_get(trade, 'refundedFen') or '0')
  end
  local next = refunded >= total and 'REFUNDED' or 'PARTIALLY_REFUNDED'
  redis.call('HSET', KEYS[1], 'status', next)
  if next ~= status then index_status(id, status, next) end
  return next
end

-- An event's fields name the trade's merchant when it has one (another merchant's trade, a combine's
-- sub-order): the ledger of each merchant's bill reads it (services/reconcile/ledger.ts).
local function name_merchant(fields, no)
  local mchid = attempt_get(no, 'mchid')
  if mchid then
    fields[#fields + 1] = 'mchid'
    fields[#fields + 1] = mchid
  end
end

-- One event. A trade of another merchant than the shop's own names it (`mchid`); `extra` adds fields (a
-- combine's paid sub-orders: mark-combine.lua).
local function emit(kind, id, no, total, source, at, tx, extra)
  local fields = { 'type', kind, 'orderId', id, 'outTradeNo', no }
  if tx then
    fields[#fields + 1] = 'transactionId'
    fields[#fields + 1] = tx
  end
  for _, v in ipairs({ 'totalFen', total, 'source', source, 'at', at }) do fields[#fields + 1] = v end
  name_merchant(fields, no)
  for _, v in ipairs(extra or {}) do fields[#fields + 1] = v end
  return redis.call('XADD', KEYS[3], 'MAXLEN', '~', EVENTS_MAX_LEN, '*', unpack(fields))
end
