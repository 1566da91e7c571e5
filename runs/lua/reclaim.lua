-- reclaim: take over queue entries idle for a heartbeat TTL and act on the
-- ones whose run heartbeat is gone. Heartbeats reset their entry's idle time,
-- so a run whose owner is alive is not claimed here, and the heartbeat key is
-- checked again before anything is taken from its owner. Nothing is taken
-- during the first heartbeat TTL of an epoch (after a restart or an outage of
-- Redis): owners that lost their heartbeats with it renew or hand back first.
-- KEYS[1] queue
-- ARGV[3] consumer, ARGV[4] min idle ms (the heartbeat TTL), ARGV[5] count,
-- ARGV[6] max attempts, ARGV[7] retry plan, ARGV[8] fail plan, ARGV[9]
-- retention ms, ARGV[10] epoch gap ms
local consumer, min_idle, count = ARGV[3], ARGV[4], ARGV[5]
local max_attempts = tonumber(ARGV[6])
local retry, fail = parse_plan(ARGV[7]), parse_plan(ARGV[8])
local c = { retention_ms = ARGV[9] }

local grace, why, since = touch_epoch(min_idle, tonumber(ARGV[10]))
if grace > 0 then
  return { { '', 'grace', string.format('%d', grace), why, string.format('%d', since) } }
end

local claimed = redis.call('XAUTOCLAIM', queue, group, consumer, min_idle, '0-0', 'COUNT', count)
local out = {}
for _, e in ipairs(claimed[2]) do
  local entry, fields, id = e[1], e[2], nil
  for i = 1, #fields, 2 do
    if fields[i] == 'run' then id = fields[i + 1] end
  end
  if not id then
    retire_entry(entry)
  elseif redis.call('EXISTS', heartbeat_key(id)) == 0 then
    local run = run_key(id)
    local cur = redis.call('HMGET', run, 'state', 'entry', 'reclaims', 'owner', 'step')
    if not cur[1] or cur[2] ~= entry then
      retire_entry(entry)
    elseif cur[1] == 'queued' then
      -- read by a consumer that died before starting it: no attempt was lost
      requeue(id)
      out[#out + 1] = { id, 'requeued' }
    elseif retry.from[cur[1]] then
      local lost = tonumber(cur[3] or '0') + 1
      local where = 'state ' .. cur[1]
      if cur[5] and cur[5] ~= '' then where = 'step ' .. cur[5] end
      if lost >= max_attempts then
        local reason = string.format(
          'gave up after %d attempts: owner replica %s stopped heartbeating during %s',
          lost, cur[4] or '?', where)
        move(id, cur[1], fail, { 'error', reason, 'reclaims', lost },
          { retention_ms = c.retention_ms, stopped = true })
        out[#out + 1] = { id, 'failed', redis.call('HGETALL', run) }
      else
        move(id, cur[1], retry, {}, c)
        out[#out + 1] = { id, 'retried', redis.call('HGETALL', run) }
      end
    else
      -- a parked or finished run whose entry outlived it
      retire_entry(entry)
      redis.call('HSET', run, 'entry', '')
    end
  end
end
return out
