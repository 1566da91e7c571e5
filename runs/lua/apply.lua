-- apply: compare-and-set a transition (or, with an empty plan, only record
-- fields) on one run.
-- KEYS[1] run hash
-- ARGV[3] run id, ARGV[4] plan ('' = no transition), ARGV[5] attempt fence
-- (0 = none), ARGV[6] retention ms, ARGV[7] input tokens to add, ARGV[8]
-- output tokens to add, ARGV[9] cost to add, ARGV[10..] field/value pairs
local run, id = KEYS[1], ARGV[3]
local cur = redis.call('HMGET', run, 'state', 'attempt')
if not cur[1] then return { 'missing' } end
local fence = tonumber(ARGV[5])
if fence > 0 and tonumber(cur[2]) ~= fence then return { 'lost', cur[1], cur[2] } end

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
