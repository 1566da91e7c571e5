-- apply: compare-and-set a transition (or, with an empty plan, only record
-- fields) on one run. A fenced call (the owner's, or on its behalf) applies
-- only while the run is at that fence; a fenced record without a transition
-- also needs the run to be active.
-- KEYS[1] run hash
-- ARGV[3] run id, ARGV[4] plan ('' = no transition), ARGV[5] fence ('0' =
-- none), ARGV[6] retention ms, ARGV[7] input tokens to add, ARGV[8] output
-- tokens to add, ARGV[9] cost to add, ARGV[10..] field/value pairs
local run, id = KEYS[1], ARGV[3]
local cur = redis.call('HMGET', run, 'state', 'attempt', 'fence')
if not cur[1] then return { 'missing' } end
if ARGV[5] ~= '0' and ((cur[3] or '0') ~= ARGV[5] or (ARGV[4] == '' and not active_states[cur[1]])) then
  return { 'lost', cur[1], cur[2], cur[3] or '0' }
end

local sets = {}
for i = 10, #ARGV do sets[#sets + 1] = ARGV[i] end
if ARGV[4] == '' then
  if #sets > 0 then redis.call('HSET', run, unpack(sets)) end
  redis.call('HSET', run, 'updatedAt', now_ms())
else
  local p = parse_plan(ARGV[4])
  if not p.from[cur[1]] then return { 'illegal', cur[1] } end
  move(id, cur[1], p, sets, { retention_ms = ARGV[6] })
end
if ARGV[7] ~= '0' then redis.call('HINCRBY', run, 'inputTokens', ARGV[7]) end
if ARGV[8] ~= '0' then redis.call('HINCRBY', run, 'outputTokens', ARGV[8]) end
if ARGV[9] ~= '0' then redis.call('HINCRBYFLOAT', run, 'costUsd', ARGV[9]) end
return { 'ok', redis.call('HGETALL', run) }
