-- heartbeat: keep an owned run alive. The queue entry's idle time is reset
-- with it, so the entry is only reclaimable once the heartbeat has lapsed.
-- KEYS[1] run hash
-- ARGV[3] run id, ARGV[4] attempt, ARGV[5] heartbeat TTL ms, ARGV[6]
-- active states (comma separated)
local run, id = KEYS[1], ARGV[3]
local cur = redis.call('HMGET', run, 'state', 'attempt', 'owner', 'entry')
if not cur[1] then return { 'missing' } end
local active = false
for s in string.gmatch(ARGV[6], '[^,]+') do
  if s == cur[1] then active = true end
end
if not active or cur[2] ~= ARGV[4] then return { 'lost', cur[1], cur[2] } end
redis.call('SET', heartbeat_key(id), cur[3], 'PX', ARGV[5])
if cur[4] and cur[4] ~= '' then
  redis.call('XCLAIM', queue, group, cur[3], 0, cur[4], 'JUSTID')
end
return { 'ok' }
