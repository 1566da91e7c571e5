-- stopped: the owner of a start says it makes no more side effects for the
-- run; the finalizer waits for it (or for the owner's lease to run out).
-- KEYS[1] run hash
-- ARGV[3] fence
local run = KEYS[1]
if (redis.call('HGET', KEYS[1], 'fence') or '0') ~= ARGV[3] then return 0 end
redis.call('HSET', run, 'stopped', ARGV[3])
return 1
