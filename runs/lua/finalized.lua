-- finalized: the finalizer has told the ticket how the run ended (or gave
-- up on part of it). The result is recorded, the ticket claim dropped if it
-- still names the run, and the outbox entry retired.
-- KEYS[1] run hash, KEYS[2] finalize stream
-- ARGV[3] run id, ARGV[4] entry id, ARGV[5] finalizers group, ARGV[6]
-- result (done, gave_up), ARGV[7] what was skipped
local run, stream, id = KEYS[1], KEYS[2], ARGV[3]
local t = redis.call('HMGET', run, 'tracker', 'ticket', 'state')
if t[3] then
  redis.call('HSET', run, 'finalize', ARGV[6], 'finalizedAt', now_ms(), 'finalizeError', ARGV[7])
  local claim = prefix .. 'ticket:' .. t[1] .. ':' .. t[2]
  if redis.call('GET', claim) == id then redis.call('DEL', claim) end
end
redis.call('XACK', stream, ARGV[5], ARGV[4])
redis.call('XDEL', stream, ARGV[4])
return 'ok'
