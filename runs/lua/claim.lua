-- claim: record a delivery under each of its keys (its id, its body's
-- digest) unless one of them is recorded already.
-- KEYS the delivery keys
-- ARGV[3] TTL ms
-- Returns 1 when the delivery is new, 0 when it was seen.
for _, k in ipairs(KEYS) do
  if redis.call('EXISTS', k) == 1 then return 0 end
end
for _, k in ipairs(KEYS) do redis.call('SET', k, '-', 'PX', ARGV[3]) end
return 1
