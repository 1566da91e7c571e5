-- submit: dedup the delivery, claim the ticket, apply the ticket's record
-- and cap, create the run, enqueue it.
-- KEYS[1] run hash, KEYS[2] ticket claim, KEYS[3] ticket record, KEYS[4]
-- the ticket's recent runs
-- ARGV[3] run id, ARGV[4] delivery key, ARGV[5] body digest key ('' = no
-- dedup by either), ARGV[6] delivery TTL ms, ARGV[7] trigger key, ARGV[8]
-- trigger seq (0 = none), ARGV[9] content digest, ARGV[10] cap (0 = none),
-- ARGV[11] cap window ms, ARGV[12] record TTL ms, ARGV[13..] run hash
-- field/value pairs
local run, claim, record, recent = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local id, delivery, body, delivery_ms = ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local mark, seq, digest = ARGV[7], tonumber(ARGV[8]), ARGV[9]
local cap, window_ms, record_ms = tonumber(ARGV[10]), tonumber(ARGV[11]), ARGV[12]

-- remember records the delivery, by id and body, as having led to run r.
local function remember(r)
  if delivery ~= '' then redis.call('SET', delivery, r, 'PX', delivery_ms) end
  if body ~= '' then redis.call('SET', body, r, 'PX', delivery_ms) end
end

-- has_key reports whether the newline-separated list holds key.
local function has_key(list, key)
  for k in string.gmatch(list or '', '[^\n]+') do
    if k == key then return true end
  end
  return false
end

-- use_up records the trigger as seen: seenSeq is the newest seq, seenKeys
-- the triggers at it.
local function use_up()
  if seq <= 0 then return end
  local cur = redis.call('HMGET', record, 'seenSeq', 'seenKeys')
  local seen = tonumber(cur[1] or '0')
  if seq > seen then
    redis.call('HSET', record, 'seenSeq', ARGV[8], 'seenKeys', mark)
  elseif seq == seen and not has_key(cur[2], mark) then
    redis.call('HSET', record, 'seenKeys', (cur[2] or '') .. '\n' .. mark)
  end
  redis.call('PEXPIRE', record, record_ms)
end

for _, k in ipairs({ delivery, body }) do
  if k ~= '' then
    local earlier = redis.call('GET', k)
    if earlier then return { 'duplicate', earlier } end
  end
end
local active = redis.call('GET', claim)
if active then
  remember(active)
  use_up()
  return { 'active', active }
end

-- A trigger agent-smith already acted on does not start another run: an
-- older or the same mark, or, without a mark, unchanged content.
local rec = redis.call('HMGET', record, 'lastRun', 'lastState', 'seenSeq', 'seenKeys', 'digest')
if rec[1] then
  local seen, old = tonumber(rec[3] or '0'), false
  if seq > 0 then
    old = seq < seen or (seq == seen and has_key(rec[4], mark))
  else
    old = digest ~= '' and digest == rec[5]
  end
  if old then
    remember(rec[1])
    use_up()
    return { 'not_new', rec[1], rec[2] or '' }
  end
end

local now = now_ms()
if cap > 0 then
  redis.call('ZREMRANGEBYSCORE', recent, '-inf', '(' .. (now - window_ms))
  local n = redis.call('ZCARD', recent)
  if n >= cap then
    -- Neither the delivery nor the trigger is used up: the same trigger
    -- is taken once the window has room.
    local oldest = redis.call('ZRANGE', recent, 0, 0, 'WITHSCORES')
    return { 'capped', string.format('%d', tonumber(oldest[2]) + window_ms), n }
  end
end
if redis.call('EXISTS', run) == 1 then return { 'collision' } end

redis.call('HSET', run, unpack(ARGV, 13))
redis.call('HSET', run, 'state', 'queued', 'attempt', 1, 'createdAt', now, 'updatedAt', now)
redis.call('SET', claim, id)
local entry = redis.call('XADD', queue, '*', 'run', id)
redis.call('HSET', run, 'entry', entry)
redis.call('ZADD', index_key('queued'), now, id)
-- Scored by the queue entry's id (ms and sequence), which orders runs
-- created in one millisecond too.
local entry_ms, entry_seq = string.match(entry, '^(%d+)-(%d+)$')
redis.call('ZADD', created_key, tonumber(entry_ms) * 1000 + math.min(tonumber(entry_seq), 999), id)
redis.call('HSET', record, 'lastRun', id, 'lastState', 'queued')
if digest ~= '' then redis.call('HSET', record, 'digest', digest) end
use_up()
redis.call('PEXPIRE', record, record_ms)
redis.call('ZADD', recent, now, id)
redis.call('PEXPIRE', recent, window_ms)
remember(id)
return { 'queued', id, redis.call('HGETALL', run) }
