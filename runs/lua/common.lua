-- Helpers prepended to every script. ARGV[1] is the key prefix and ARGV[2]
-- the queue's consumer group in every script.
local prefix = ARGV[1]
local group = ARGV[2]
local queue = prefix .. 'queue'

local function run_key(id) return prefix .. 'run:' .. id end
local function heartbeat_key(id) return prefix .. 'run:' .. id .. ':heartbeat' end
local function events_key(id) return prefix .. 'run:' .. id .. ':events' end
local function index_key(state) return prefix .. 'runs:' .. state end
-- every run by creation time, newest last: the run list's order
local created_key = prefix .. 'runs:created'

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- parse_plan reads "from,from|to|flag,flag" as rendered by encodePlan.
local function parse_plan(s)
  local from, to, flags = string.match(s, '^([^|]*)|([^|]*)|([^|]*)$')
  local p = { from = {}, to = to, flag = {} }
  for f in string.gmatch(from, '[^,]+') do p.from[f] = true end
  for f in string.gmatch(flags, '[^,]+') do p.flag[f] = true end
  return p
end

-- retire_entry acknowledges and deletes a queue entry: the stream holds only
-- entries still to be worked, so its length is the backlog.
local function retire_entry(entry)
  redis.call('XACK', queue, group, entry)
  redis.call('XDEL', queue, entry)
end

-- requeue replaces the run's queue entry with a fresh one at the tail,
-- available to every consumer at once.
local function requeue(id)
  local run = run_key(id)
  local old = redis.call('HGET', run, 'entry')
  if old and old ~= '' then retire_entry(old) end
  local entry = redis.call('XADD', queue, '*', 'run', id)
  redis.call('HSET', run, 'entry', entry)
  return entry
end

-- move applies the legal transition p to run id, currently in state from,
-- with the caller's field values sets; c holds retention_ms, heartbeat_ms
-- and owner (for start).
local function move(id, from, p, sets, c)
  local run = run_key(id)
  local now = now_ms()
  local f = p.flag
  if f.requeue then
    requeue(id)
    redis.call('HINCRBY', run, 'attempt', 1)
  elseif f.ack then
    local entry = redis.call('HGET', run, 'entry')
    if entry and entry ~= '' then retire_entry(entry) end
    redis.call('HSET', run, 'entry', '')
  end
  if f.reclaimed then redis.call('HINCRBY', run, 'reclaims', 1) end
  if f.stop then redis.call('DEL', heartbeat_key(id)) end
  if f.start then
    redis.call('HSET', run, 'startedAt', now)
    redis.call('SET', heartbeat_key(id), c.owner, 'PX', c.heartbeat_ms)
  end
  if f.release then -- the run is over
    local t = redis.call('HMGET', run, 'tracker', 'ticket')
    local claim = prefix .. 'ticket:' .. t[1] .. ':' .. t[2]
    if redis.call('GET', claim) == id then redis.call('DEL', claim) end
    redis.call('HSET', run, 'finishedAt', now)
    -- The ticket's record tells the next trigger how its last run ended.
    local record = prefix .. 'ticket-record:' .. t[1] .. ':' .. t[2]
    if redis.call('HGET', record, 'lastRun') == id then
      redis.call('HSET', record, 'lastState', p.to, 'lastEndedAt', now)
    end
  end
  if #sets > 0 then redis.call('HSET', run, unpack(sets)) end
  redis.call('HSET', run, 'state', p.to, 'updatedAt', now)
  redis.call('ZREM', index_key(from), id)
  redis.call('ZADD', index_key(p.to), now, id)
  if f.expire then
    redis.call('PEXPIRE', run, c.retention_ms)
    redis.call('PEXPIRE', events_key(id), c.retention_ms)
    -- The index outlives nothing it points to: drop members whose runs
    -- have expired by now.
    redis.call('ZREMRANGEBYSCORE', index_key(p.to), '-inf', '(' .. (now - c.retention_ms))
  end
end
