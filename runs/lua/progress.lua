-- progress: append a line to the run's capped event stream; a finished
-- run's stream keeps the run's expiry. A fenced line is refused once the run
-- is at another fence: a stale owner's lines never mix with the new one's.
-- KEYS[1] run hash, KEYS[2] events stream
-- ARGV[3] max length, ARGV[4] step, ARGV[5] message, ARGV[6] fence ('0' =
-- none)
local run, events = KEYS[1], KEYS[2]
if redis.call('EXISTS', run) == 0 then return { 'missing' } end
if ARGV[6] ~= '0' and (redis.call('HGET', run, 'fence') or '0') ~= ARGV[6] then return { 'lost' } end
local id = redis.call('XADD', events, 'MAXLEN', ARGV[3], '*', 'step', ARGV[4], 'msg', ARGV[5])
local ttl = redis.call('PTTL', run)
if ttl > 0 then redis.call('PEXPIRE', events, ttl) end
return { 'ok', id }
