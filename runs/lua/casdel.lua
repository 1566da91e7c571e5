-- casdel: delete KEYS[1] only if it still holds ARGV[3].
if redis.call('GET', KEYS[1]) == ARGV[3] then return redis.call('DEL', KEYS[1]) end
return 0
