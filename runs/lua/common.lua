-- Helpers prepended to every script. ARGV[1] is the key prefix and ARGV[2]
-- the queue's consumer group in every script.
local prefix = ARGV[1]
local group = ARGV[2]
local queue = prefix .. 'queue'

local function run_key(id) return prefix .. 'run:' .. id end
local function heartbeat_key(id) return prefix .. 'run:' .. id .. ':heartbeat' end
local function events_key(id) return prefix .. 'run:' .. id .. ':events' end
local function index_key(state) return prefix .. 'runs:' .. state end
local finalize_stream = prefix .. 'finalize'
local epoch_key = prefix .. 'epoch'

-- The states in which a replica owns a run (activeStates in state.go).
local active_states = { starting = true, provisioning = true, running = true, publishing = true }
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

-- touch_epoch notes that Redis served a replica just now. A Redis that
-- restarted (its INFO run_id changed) or that nobody reached for longer than
-- gap_ms (an outage) starts a new epoch; reclaim waits ttl_ms into an epoch,
-- so owners that were cut off can renew first. It returns the grace left in
-- ms (0: none) and why the epoch began. INFO is refused by some servers
-- (miniredis, locked-down managed Redis): restarts then count as gaps.
local function touch_epoch(ttl_ms, gap_ms)
  local now = now_ms()
  local info = redis.pcall('INFO', 'server')
  local rid = type(info) == 'string' and string.match(info, 'run_id:(%x+)') or ''
  local e = redis.call('HMGET', epoch_key, 'runId', 'since', 'seen', 'why')
  if not e[2] then
    -- the data set's first epoch: nobody owned anything before it
    redis.call('HSET', epoch_key, 'runId', rid, 'since', now, 'seen', now, 'recovered', now, 'why', 'fresh')
    return 0, 'fresh', now
  end
  if rid ~= (e[1] or '') or now - tonumber(e[3] or 0) > gap_ms then
    local why = 'gap'
    if rid ~= (e[1] or '') then why = 'restart' end
    redis.call('HSET', epoch_key, 'runId', rid, 'since', now, 'seen', now, 'why', why)
    return tonumber(ttl_ms), why, now
  end
  redis.call('HSET', epoch_key, 'seen', now)
  local left = tonumber(ttl_ms) - (now - tonumber(e[2]))
  if left > 0 and e[4] ~= 'fresh' then return left, e[4] or '', tonumber(e[2]) end
  return 0, '', tonumber(e[2])
end

-- move applies the legal transition p to run id, currently in state from,
-- with the caller's field values sets; c holds retention_ms, heartbeat_ms
-- and owner (for start: "name|fence", the heartbeat's value), and stopped
-- (the owner is known to have stopped: a reclaim giving up).
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
  if f.finalize then
    -- The run is over. The finalizer tells the ticket and only then drops
    -- the ticket claim, so a new trigger meanwhile cannot start a run whose
    -- ticket a late finalizer would mark. A run nobody owned (cancelled
    -- while queued or parked, given up by reclaim) has no owner to wait for.
    local fence = redis.call('HGET', run, 'fence') or '0'
    redis.call('HSET', run, 'finishedAt', now, 'finalize', 'pending')
    if c.stopped or not active_states[from] then redis.call('HSET', run, 'stopped', fence) end
    redis.call('XADD', finalize_stream, '*', 'run', id, 'fence', fence)
    -- The ticket's record tells the next trigger how its last run ended.
    local t = redis.call('HMGET', run, 'tracker', 'ticket')
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
