-- event: append an entry to the run's event log, then drop the oldest
-- entries until the log holds at most ARGV[3] entries and ARGV[4] bytes
-- (the sum of its field and value lengths). The log keeps the run's expiry;
-- the run hash counts the bytes kept and the entries dropped.
-- A fenced entry is refused once the run is at another fence: a stale
-- owner's entries never mix with the new one's.
-- KEYS[1] run hash, KEYS[2] events stream
-- ARGV[3] max entries, ARGV[4] max bytes, ARGV[5] fence ('0' = none),
-- ARGV[6..] field/value pairs
local run, events = KEYS[1], KEYS[2]
local max_entries, max_bytes = tonumber(ARGV[3]), tonumber(ARGV[4])
if redis.call('EXISTS', run) == 0 then return { 'missing' } end
if ARGV[5] ~= '0' and (redis.call('HGET', run, 'fence') or '0') ~= ARGV[5] then return { 'lost' } end

local fields, size = {}, 0
for i = 6, #ARGV do
  fields[#fields + 1] = ARGV[i]
  size = size + #ARGV[i]
end
local id = redis.call('XADD', events, '*', unpack(fields))
local bytes = redis.call('HINCRBY', run, 'eventBytes', size)
local n = redis.call('XLEN', events)
local dropped = 0
while n > 1 and (n > max_entries or bytes > max_bytes) do
  local oldest = redis.call('XRANGE', events, '-', '+', 'COUNT', 16)
  for _, e in ipairs(oldest) do
    if n <= 1 or (n <= max_entries and bytes <= max_bytes) then break end
    local sz = 0
    for _, v in ipairs(e[2]) do sz = sz + #v end
    redis.call('XDEL', events, e[1])
    n, bytes, dropped = n - 1, bytes - sz, dropped + 1
  end
end
if dropped > 0 then
  redis.call('HSET', run, 'eventBytes', bytes)
  redis.call('HINCRBY', run, 'eventsDropped', dropped)
end
local ttl = redis.call('PTTL', run)
if ttl > 0 then redis.call('PEXPIRE', events, ttl) end
return { 'ok', id }
