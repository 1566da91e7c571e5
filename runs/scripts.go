package runs

import (
	"embed"

	"github.com/redis/go-redis/v9"
)

//go:embed lua/*.lua
var luaFiles embed.FS

// The store's Lua scripts, each prefixed with lua/common.lua. They run by
// EVALSHA and fall back to EVAL once after a Redis restart emptied the
// script cache.
var (
	submitScript    = loadScript("submit")
	applyScript     = loadScript("apply")
	startScript     = loadScript("start")
	releaseScript   = loadScript("release")
	reclaimScript   = loadScript("reclaim")
	heartbeatScript = loadScript("heartbeat")
	eventScript     = loadScript("event")
	casDelScript    = loadScript("casdel")
	stoppedScript   = loadScript("stopped")
	finalizedScript = loadScript("finalized")
	restartScript   = loadScript("restart")
	claimScript     = loadScript("claim")
)

func loadScript(name string) *redis.Script {
	common, err := luaFiles.ReadFile("lua/common.lua")
	if err != nil {
		panic(err)
	}
	body, err := luaFiles.ReadFile("lua/" + name + ".lua")
	if err != nil {
		panic(err)
	}
	return redis.NewScript(string(common) + "\n" + string(body))
}
