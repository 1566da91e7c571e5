-- heartbeat: keep an owned run alive. The queue entry's idle time is reset
-- with it, so the entry is only reclaimable once the heartbeat has lapsed.
-- Only the owner of the current start may renew: state active, fence and
-- owner name as recorded. Every call also notes the epoch (touch_epoch).
-- KEYS[1] run hash
-- ARGV[3] run id, ARGV[4] fence, ARGV[5] owner name, ARGV[6] heartbeat TTL
-- ms, ARGV[7] epoch gap ms
local run, id = KEYS[1], ARGV[3]
touch_epoch(ARGV[6], tonumber(ARGV[7]))
local cur = redis.call('HMGET', run, 'state', 'fence', 'owner', 'entry', 'attempt')
if not cur[1] then return { 'missing' } end
if not active_states[cur[1]] or cur[2] ~= ARGV[4] or cur[3] ~= ARGV[5] then
  return { 'lost', cur[1], cur[5] or '', cur[2] or '0', cur[3] or '' }
end
redis.call('SET', heartbeat_key(id), cur[3] .. '|' .. cur[2], 'PX', ARGV[6])
if cur[4] and cur[4] ~= '' then
  redis.call('XCLAIM', queue, group, cur[3], 0, cur[4], 'JUSTID')
end
return { 'ok' }
