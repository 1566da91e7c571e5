-- start: the consumer that read a queue entry takes its run. An entry that
-- no longer belongs to a queued run (cancelled meanwhile, superseded) is
-- retired instead. Every start draws a new fence, max(fence + 1, now in ms):
-- it grows with each start and stays unique when Redis lost its last second
-- of writes, because a start after a restart is later than any start lost.
-- KEYS[1] run hash
-- ARGV[3] run id, ARGV[4] entry id, ARGV[5] start plan, ARGV[6] owner name,
-- ARGV[7] owner uid, ARGV[8] heartbeat TTL ms
local run, id, entry = KEYS[1], ARGV[3], ARGV[4]
local p = parse_plan(ARGV[5])
local cur = redis.call('HMGET', run, 'state', 'entry', 'fence')
if not cur[1] or cur[2] ~= entry or not p.from[cur[1]] then
  retire_entry(entry)
  return { 'skip', cur[1] or '' }
end
local fence = string.format('%d', math.max((tonumber(cur[3]) or 0) + 1, now_ms()))
move(id, cur[1], p, { 'owner', ARGV[6], 'ownerUid', ARGV[7], 'fence', fence },
  { owner = ARGV[6] .. '|' .. fence, heartbeat_ms = ARGV[8] })
return { 'ok', redis.call('HGETALL', run) }
