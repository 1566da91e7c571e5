-- restart: a new attempt of a failed or cancelled run. The run takes its
-- ticket back (unless another run of the ticket is unfinished), its
-- retention clock stops, and it queues again as its next attempt.
-- KEYS[1] run hash
-- ARGV[3] run id, ARGV[4] restart plan, ARGV[5..] field/value pairs
local run, id = KEYS[1], ARGV[3]
local cur = redis.call('HMGET', run, 'state', 'tracker', 'ticket')
if not cur[1] then return { 'missing' } end
local p = parse_plan(ARGV[4])
if not p.from[cur[1]] then return { 'illegal', cur[1] } end
local claim = prefix .. 'ticket:' .. cur[2] .. ':' .. cur[3]
local holder = redis.call('GET', claim)
if holder and holder ~= id then return { 'active', holder } end

local sets = {}
for i = 5, #ARGV do sets[#sets + 1] = ARGV[i] end
redis.call('SET', claim, id)
redis.call('PERSIST', run)
redis.call('PERSIST', events_key(id))
move(id, cur[1], p, sets, {})
return { 'ok', redis.call('HGETALL', run) }
