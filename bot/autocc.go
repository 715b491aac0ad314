// SPDX-License-Identifier: GPL-3.0-or-later

package bot

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/ksecbot/ksecbot/bugzilla"
	"github.com/ksecbot/ksecbot/config"
	"github.com/ksecbot/ksecbot/store"
	"github.com/ksecbot/ksecbot/trees"
)

// autoCCLoop adds announce.auto_cc and the auto_cc trees' logins to each
// new bug's CC list (SPEC F5): once per bug, recorded in SQLite, retried
// with backoff while Bugzilla fails, never repeated after a restart.
func (b *Bot) autoCCLoop(ctx context.Context) error {
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	for {
		jobs, err := b.store.DueAutoCC(ctx, b.now(), 20)
		if err != nil && ctx.Err() == nil {
			b.log.Warn("failed to read auto-CC jobs", "err", err)
		}
		for _, j := range jobs {
			b.autoCC(ctx, j)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-b.queued:
		case <-tick.C:
		}
	}
}

// AutoCCLogins returns the logins a new bug is CC'd on: announce.auto_cc
// plus the Bugzilla logins of the matched trees that have auto_cc = true.
func AutoCCLogins(cfg *config.Config, reg *trees.Registry, bug *bugzilla.Bug) []string {
	want := append([]string(nil), cfg.Announce.AutoCC...)
	matched, _ := reg.Match(bug)
	var auto []config.Tree
	for _, t := range matched {
		if t.AutoCC {
			auto = append(auto, t)
		}
	}
	want = append(want, trees.Logins(auto)...)
	seen := map[string]bool{}
	var out []string
	for _, l := range want {
		k := strings.ToLower(l)
		if l != "" && !seen[k] {
			seen[k] = true
			out = append(out, l)
		}
	}
	return out
}

func (b *Bot) autoCC(ctx context.Context, j store.AutoCCJob) {
	log := b.log.With("component", "auto-cc", "bug", j.BugID)
	if !b.bz.HasAPIKey() {
		_ = b.store.FinishAutoCC(ctx, j.BugID, "skipped: read-only (no API key)")
		return
	}
	bug, err := b.bz.Bug(ctx, j.BugID)
	if err != nil {
		b.retryAutoCC(ctx, j, err)
		return
	}
	lv := b.l()
	want := AutoCCLogins(lv.cfg, lv.trees, bug)
	var add []string
	for _, l := range want {
		if !bugzilla.LoginIn(l, bug.CC) {
			add = append(add, l)
		}
	}
	if len(add) == 0 {
		_ = b.store.FinishAutoCC(ctx, j.BugID, "nothing to add")
		return
	}
	res, err := b.bz.Update(ctx, j.BugID, bugzilla.Update{CCAdd: add})
	if err != nil {
		if errors.Is(err, bugzilla.ErrUnknownUser) || errors.Is(err, bugzilla.ErrRestricted) || errors.Is(err, bugzilla.ErrNotFound) {
			log.Error("auto-CC failed permanently: check announce.auto_cc and the trees' bugzilla logins", "logins", add, "err", err)
			_ = b.store.FinishAutoCC(ctx, j.BugID, "failed: "+err.Error())
			return
		}
		b.retryAutoCC(ctx, j, err)
		return
	}
	added := res.Changes["cc"].Added
	log.Info("auto-CC done", "added", added)
	_ = b.store.FinishAutoCC(ctx, j.BugID, "added: "+added)
	if fresh, err := b.bz.Bug(ctx, j.BugID); err == nil {
		_ = b.store.SaveBugs(ctx, []bugzilla.Bug{*fresh}, nil, false)
	}
}

func (b *Bot) retryAutoCC(ctx context.Context, j store.AutoCCJob, err error) {
	d := time.Duration(1<<min(j.Attempts, 10)) * 10 * time.Second
	d = min(d, time.Hour)
	b.log.Warn("auto-CC failed, will retry", "bug", j.BugID, "attempt", j.Attempts+1, "retry_in", d, "err", err)
	_ = b.store.RetryAutoCC(ctx, j.BugID, b.now().Add(d), err.Error())
}
