package runs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/agent-smith/agent-smith/sandbox"
)

// Known is what the store holds right now: housekeeping compares keys and
// sandbox pods against it.
type Known struct {
	// Runs maps every run that has a hash to its state.
	Runs map[string]State
	// Jobs holds the sandbox job ids (sandbox.JobID) that may own keys and pods:
	// one per repository of every active run, at its current start.
	Jobs map[string]bool
	// Fences maps every active run to its current fence: sandboxes of
	// another fence belong to a start that is over.
	Fences map[string]int64
	// Finalizing holds the runs that ended and whose ticket is still being
	// told: they keep their ticket claim until then.
	Finalizing map[string]bool
}

// Known reads the runs in Redis and the sandbox jobs of the active ones.
func (s *Store) Known(ctx context.Context) (Known, error) {
	k := Known{Runs: map[string]State{}, Jobs: map[string]bool{}, Fences: map[string]int64{}, Finalizing: map[string]bool{}}
	var ids []string
	runPrefix := s.opts.Prefix + "run:"
	iter := s.rdb.ScanType(ctx, 0, escapeGlob(runPrefix)+"*", 1000, "hash").Iterator()
	for iter.Next(ctx) {
		id := strings.TrimPrefix(iter.Val(), runPrefix)
		if !strings.Contains(id, ":") {
			ids = append(ids, id)
		}
	}
	if err := iter.Err(); err != nil {
		return Known{}, fmt.Errorf("scan runs: %w", err)
	}
	if len(ids) == 0 {
		return k, nil
	}
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.SliceCmd, len(ids))
	for i, id := range ids {
		cmds[i] = pipe.HMGet(ctx, s.runKey(id), fState, fAttempt, fRepos, fFence, fFinalize)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return Known{}, fmt.Errorf("read runs: %w", err)
	}
	for i, id := range ids {
		v := cmds[i].Val()
		st, _ := v[0].(string)
		if st == "" {
			continue // expired since the scan
		}
		k.Runs[id] = State(st)
		if fin, _ := v[4].(string); fin == string(FinalizePending) {
			k.Finalizing[id] = true
		}
		if !State(st).Active() {
			continue
		}
		if err := k.addJobs(id, v); err != nil {
			return Known{}, err
		}
	}
	return k, nil
}

// addJobs records the fence and sandbox jobs of active run id from its
// fields (state, attempt, repos, fence).
func (k Known) addJobs(id string, v []any) error {
	attempt, _ := v[1].(string)
	n, err := strconv.Atoi(attempt)
	if err != nil {
		return fmt.Errorf("run %s attempt %q: %w", id, attempt, err)
	}
	fenceText, _ := v[3].(string)
	fence, err := parseInt64(fenceText)
	if err != nil {
		return fmt.Errorf("run %s fence %q: %w", id, fenceText, err)
	}
	var repos []string
	reposJSON, _ := v[2].(string)
	if err := json.Unmarshal([]byte(reposJSON), &repos); err != nil {
		return fmt.Errorf("run %s repos: %w", id, err)
	}
	k.Fences[id] = fence
	for _, repo := range repos {
		k.Jobs[sandbox.JobID(id, repo, n, fence)] = true
	}
	return nil
}

// Swept is what SweepOrphans removed.
type Swept struct {
	// Keys are the deleted keys, sorted.
	Keys []string
	// IndexEntries counts state-index members removed because their run
	// was gone.
	IndexEntries int
}

// keyScan is the part of the key space a sweep looks at.
type keyScan struct {
	// sandbox and runScoped are keys "{prefix}sandbox:{job}:*" and
	// "{prefix}run:{id}:*".
	sandbox, runScoped []string
	// claims maps ticket claim keys to the run id they hold.
	claims map[string]string
	// index lists the members of each state index, created those of the
	// creation index.
	index   map[State][]string
	created []string
}

// sweepPlan is what a sweep deletes.
type sweepPlan struct {
	keys    []string
	claims  map[string]string // claim key → the run id it must still hold
	index   map[State][]string
	created []string
}

// orphans decides which scanned keys no run accounts for: sandbox keys of
// jobs that are not the current start of an active run (another fence, a
// stale start's), run-scoped keys and index entries of runs without a hash,
// and ticket claims of runs that are gone, or finished and finalized.
func orphans(prefix string, sc keyScan, k Known) sweepPlan {
	p := sweepPlan{claims: map[string]string{}, index: map[State][]string{}}
	for _, key := range sc.sandbox {
		rest := strings.TrimPrefix(key, prefix+"sandbox:")
		cut := strings.LastIndexByte(rest, ':')
		if cut < 0 || !k.Jobs[rest[:cut]] {
			p.keys = append(p.keys, key)
		}
	}
	for _, key := range sc.runScoped {
		id, _, _ := strings.Cut(strings.TrimPrefix(key, prefix+"run:"), ":")
		if _, ok := k.Runs[id]; !ok {
			p.keys = append(p.keys, key)
		}
	}
	for key, id := range sc.claims {
		if st, ok := k.Runs[id]; !ok || st.Terminal() && !k.Finalizing[id] {
			p.claims[key] = id
		}
	}
	for st, ids := range sc.index {
		for _, id := range ids {
			if _, ok := k.Runs[id]; !ok {
				p.index[st] = append(p.index[st], id)
			}
		}
	}
	for _, id := range sc.created {
		if _, ok := k.Runs[id]; !ok {
			p.created = append(p.created, id)
		}
	}
	return p
}

// SweepOrphans deletes the keys no run accounts for (see orphans): what a
// crashed replica or sandbox left behind. Keys are scanned before the runs
// are read, so a run created during the sweep is always seen as known.
func (s *Store) SweepOrphans(ctx context.Context) (Swept, error) {
	sc, err := s.scanKeys(ctx)
	if err != nil {
		return Swept{}, fmt.Errorf("sweep orphans: %w", err)
	}
	known, err := s.Known(ctx)
	if err != nil {
		return Swept{}, fmt.Errorf("sweep orphans: %w", err)
	}
	plan := orphans(s.opts.Prefix, sc, known)

	var out Swept
	for batch := range slices.Chunk(plan.keys, 500) {
		if err := s.rdb.Unlink(ctx, batch...).Err(); err != nil {
			return out, fmt.Errorf("sweep orphans: delete keys: %w", err)
		}
		out.Keys = append(out.Keys, batch...)
	}
	for key, id := range plan.claims {
		n, err := s.run(ctx, casDelScript, []string{key}, id).Int()
		if err != nil {
			return out, fmt.Errorf("sweep orphans: release claim %s: %w", key, err)
		}
		if n == 1 {
			out.Keys = append(out.Keys, key)
		}
	}
	for st, ids := range plan.index {
		n, err := s.rdb.ZRem(ctx, s.indexKey(st), ids).Result()
		if err != nil {
			return out, fmt.Errorf("sweep orphans: prune %s index: %w", st, err)
		}
		out.IndexEntries += int(n)
	}
	if len(plan.created) > 0 {
		n, err := s.rdb.ZRem(ctx, s.createdKey(), plan.created).Result()
		if err != nil {
			return out, fmt.Errorf("sweep orphans: prune the creation index: %w", err)
		}
		out.IndexEntries += int(n)
	}
	slices.Sort(out.Keys)
	if len(out.Keys) > 0 || out.IndexEntries > 0 {
		s.log(ctx).Info("swept orphaned keys", "keys", len(out.Keys), "indexEntries", out.IndexEntries)
	}
	return out, nil
}

func (s *Store) scanKeys(ctx context.Context) (keyScan, error) {
	sc := keyScan{claims: map[string]string{}, index: map[State][]string{}}
	var claimKeys []string
	iter := s.rdb.Scan(ctx, 0, escapeGlob(s.opts.Prefix)+"*", 1000).Iterator()
	for iter.Next(ctx) {
		key := iter.Val()
		rest := strings.TrimPrefix(key, s.opts.Prefix)
		switch {
		case strings.HasPrefix(rest, "sandbox:"):
			sc.sandbox = append(sc.sandbox, key)
		case strings.HasPrefix(rest, "run:") && strings.Count(rest, ":") >= 2:
			sc.runScoped = append(sc.runScoped, key)
		case strings.HasPrefix(rest, "ticket:"):
			claimKeys = append(claimKeys, key)
		}
	}
	if err := iter.Err(); err != nil {
		return keyScan{}, fmt.Errorf("scan keys: %w", err)
	}
	pipe := s.rdb.Pipeline()
	gets := make([]*redis.StringCmd, len(claimKeys))
	for i, key := range claimKeys {
		gets[i] = pipe.Get(ctx, key)
	}
	members := make(map[State]*redis.StringSliceCmd, len(States))
	for _, st := range States {
		members[st] = pipe.ZRange(ctx, s.indexKey(st), 0, -1)
	}
	created := pipe.ZRange(ctx, s.createdKey(), 0, -1)
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return keyScan{}, fmt.Errorf("read claims and indexes: %w", err)
	}
	for i, key := range claimKeys {
		if id := gets[i].Val(); id != "" {
			sc.claims[key] = id
		}
	}
	for st, c := range members {
		sc.index[st] = c.Val()
	}
	sc.created = created.Val()
	return sc, nil
}

// escapeGlob quotes the glob metacharacters of a key prefix for SCAN MATCH.
func escapeGlob(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`*?[]\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
