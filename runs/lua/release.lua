-- release: a consumer read an entry but will not start it (it is shutting
-- down); the run goes back to the tail of the queue for another consumer.
-- KEYS[1] run hash
-- ARGV[3] run id, ARGV[4] entry id
local run, id, entry = KEYS[1], ARGV[3], ARGV[4]
local cur = redis.call('HMGET', run, 'state', 'entry')
if cur[1] == 'queued' and cur[2] == entry then
  requeue(id)
  return 'requeued'
end
retire_entry(entry)
return 'retired'
