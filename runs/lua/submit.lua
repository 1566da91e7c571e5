-- submit: dedup the delivery, claim the ticket, create the run, enqueue it.
-- KEYS[1] run hash, KEYS[2] ticket claim
-- ARGV[3] run id, ARGV[4] delivery key ('' = no dedup), ARGV[5] delivery TTL
-- ms, ARGV[6..] run hash field/value pairs
local run, claim = KEYS[1], KEYS[2]
local id, delivery, delivery_ms = ARGV[3], ARGV[4], ARGV[5]

if delivery ~= '' then
  local earlier = redis.call('GET', delivery)
  if earlier then return { 'duplicate', earlier } end
end
local active = redis.call('GET', claim)
if active then
  if delivery ~= '' then redis.call('SET', delivery, active, 'PX', delivery_ms) end
  return { 'active', active }
end
if redis.call('EXISTS', run) == 1 then return { 'collision' } end

local now = now_ms()
redis.call('HSET', run, unpack(ARGV, 6))
redis.call('HSET', run, 'state', 'queued', 'attempt', 1, 'createdAt', now, 'updatedAt', now)
redis.call('SET', claim, id)
local entry = redis.call('XADD', queue, '*', 'run', id)
redis.call('HSET', run, 'entry', entry)
redis.call('ZADD', index_key('queued'), now, id)
-- Scored by the queue entry's id (ms and sequence), which orders runs
-- created in one millisecond too.
local ms, seq = string.match(entry, '^(%d+)-(%d+)$')
redis.call('ZADD', created_key, tonumber(ms) * 1000 + math.min(tonumber(seq), 999), id)
if delivery ~= '' then redis.call('SET', delivery, id, 'PX', delivery_ms) end
return { 'queued', id, redis.call('HGETALL', run) }
