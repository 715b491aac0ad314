// SPDX-License-Identifier: GPL-3.0-or-later

package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/ksecbot/ksecbot/announce"
	"github.com/ksecbot/ksecbot/bugzilla"
	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/config"
	"github.com/ksecbot/ksecbot/internal/backoff"
	"github.com/ksecbot/ksecbot/policy"
	"github.com/ksecbot/ksecbot/store"
	"github.com/ksecbot/ksecbot/trees"
)

// autoCCBatch is how many due auto-CC jobs one pass handles.
const autoCCBatch = 100

// AutoCC adds the auto-CC logins to new bugs' CC lists in Bugzilla and
// releases those held back while a bug was restricted.
type AutoCC struct {
	current func() autoCCConfig // the configuration in effect at each pass
	store   *store.Store
	bz      *bugzilla.Client
	wake    *Wake
	notices *Notices
	log     *slog.Logger
	now     func() time.Time
	held    heldPass // the last release of held-back logins (run's goroutine only)
	// reconcile asks the watcher for a reconciliation (Wire sets it):
	// a fresh read found the mirror behind Bugzilla.
	reconcile func()
}

// autoCCConfig is what auto-CC reads of the configuration in effect: the
// [announce] auto-CC keys and the watches, the trees (whose logins to
// add) and the renderer (bug links). *Snapshot implements it.
type autoCCConfig interface {
	Config() *config.Config
	Trees() *trees.Registry
	Renderer() *announce.Renderer
}

// NewAutoCC returns the auto-CC loop; it tells the private channels
// through notices what it held back.
func NewAutoCC(o Options, current func() autoCCConfig, wake *Wake, notices *Notices) *AutoCC {
	o = o.WithDefaults()
	return &AutoCC{current: current, store: o.Store, bz: o.Bugzilla, wake: wake, notices: notices, log: o.Logger, now: o.Now}
}

// Loops returns the auto-CC loop, for Bot.Run.
func (a *AutoCC) Loops() []Loop { return []Loop{{"auto-cc", a.run}} }

// run adds announce.auto_cc and the auto_cc trees' logins to each
// new bug's CC list: once per bug, recorded in SQLite, retried
// with backoff while Bugzilla fails, never repeated after a restart. It
// decides from a fresh read of the due bugs (one search by id per pass,
// the fields in freshFields), never from the mirror alone: a new bug
// costs that read and one PUT, and bugs due together that get the same
// logins share one PUT. Restricted bugs get only [announce]
// restricted_auto_cc logins (package policy); the others are held back and
// added once the bug is public. Nothing is CC'd onto a bug that is
// closed, moved out of the watches or no longer visible to ksecbot. While
// Bugzilla refuses the API key, jobs wait.
func (a *AutoCC) run(ctx context.Context) error {
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	for {
		if !a.bz.KeyRefused() {
			jobs, err := a.store.DueAutoCC(ctx, a.now(), autoCCBatch)
			if err != nil && ctx.Err() == nil {
				a.log.Warn("failed to read auto-CC jobs", "err", err)
			}
			if len(jobs) > 0 {
				a.autoCC(ctx, jobs)
			}
			a.releaseHeldAutoCC(ctx)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-a.wake.queued: // also after the key is accepted again (the notice is queued)
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

// ccGroup is the bugs that get the same CC additions: one PUT.
type ccGroup struct {
	add  []string
	jobs []store.AutoCCJob
	bugs []*bugzilla.Bug
}

// autoCC handles due jobs: decides each bug's additions from a fresh
// read of them all and writes them, one PUT per set of equal additions.
func (a *AutoCC) autoCC(ctx context.Context, jobs []store.AutoCCJob) {
	if !a.bz.HasAPIKey() {
		for _, j := range jobs {
			a.finishAutoCC(ctx, j.BugID, "skipped: read-only (no API key)")
		}
		return
	}
	ids := make([]int, len(jobs))
	for i, j := range jobs {
		ids[i] = j.BugID
	}
	fresh, ok, err := a.readFresh(ctx, ids)
	if err != nil || !ok {
		if err == nil {
			err = bugzilla.ErrKeyRefused
		}
		for _, j := range jobs {
			a.retryAutoCC(ctx, j, err)
		}
		return
	}
	lv := a.current() // one configuration for the whole pass
	cfg := lv.Config()
	groups := map[string]*ccGroup{}
	var order []string
	for _, j := range jobs {
		mirrored, ok, err := a.store.Bug(ctx, j.BugID)
		if err != nil {
			a.log.Warn("auto-CC: failed to read the mirror", "bug", j.BugID, "err", err)
			continue
		}
		if !ok {
			a.finishAutoCC(ctx, j.BugID, "skipped: not in the mirror")
			continue
		}
		bug, why := a.freshen(cfg, mirrored, fresh[j.BugID])
		if bug == nil {
			a.finishAutoCC(ctx, j.BugID, "skipped: "+why)
			continue
		}
		want := notCCd(AutoCCLogins(cfg, lv.Trees(), bug), bug)
		d := policy.AutoCC(want, bug, cfg.Announce.RestrictedAutoCC)
		if len(d.Held) > 0 {
			a.holdAutoCC(ctx, bug.ID, d.Held)
		}
		if len(d.Add) == 0 {
			result := "nothing to add"
			if len(d.Held) > 0 {
				result = "held while restricted: " + strings.Join(d.Held, ", ")
			}
			a.finishAutoCC(ctx, j.BugID, result)
			continue
		}
		key := ccKey(d.Add)
		g := groups[key]
		if g == nil {
			g = &ccGroup{add: d.Add}
			groups[key] = g
			order = append(order, key)
		}
		g.jobs = append(g.jobs, j)
		g.bugs = append(g.bugs, bug)
	}
	for _, k := range order {
		a.writeCCGroup(ctx, groups[k])
	}
}

// ccKey identifies a set of logins regardless of order and case.
func ccKey(logins []string) string {
	l := make([]string, len(logins))
	for i, s := range logins {
		l[i] = strings.ToLower(s)
	}
	sort.Strings(l)
	return strings.Join(l, ",")
}

// writeCCGroup adds g.add to every bug of g: one PUT for all (Bugzilla
// takes "ids"), or one per bug when the shared one failed for good (one
// bug may be restricted from the bot, say).
func (a *AutoCC) writeCCGroup(ctx context.Context, g *ccGroup) {
	if len(g.jobs) > 1 {
		ids := make([]int, len(g.jobs))
		for i, j := range g.jobs {
			ids[i] = j.BugID
		}
		res, err := a.bz.UpdateMany(ctx, ids, bugzilla.Update{CCAdd: g.add})
		if err == nil {
			byID := map[int]bugzilla.UpdateResult{}
			for _, r := range res {
				byID[r.ID] = r
			}
			for i, j := range g.jobs {
				r, ok := byID[j.BugID]
				if !ok {
					a.retryAutoCC(ctx, j, fmt.Errorf("bug %d missing from Bugzilla's answer: %w", j.BugID, bugzilla.ErrInvalid))
					continue
				}
				a.autoCCDone(ctx, g.bugs[i], r)
			}
			return
		}
		if !permanentCCError(err) {
			for _, j := range g.jobs {
				a.retryAutoCC(ctx, j, err)
			}
			return
		}
		a.log.Info("auto-CC of several bugs at once failed; trying them one by one", "bugs", ids, "err", err)
	}
	for i, j := range g.jobs {
		res, err := a.bz.Update(ctx, j.BugID, bugzilla.Update{CCAdd: g.add})
		switch {
		case err == nil:
			a.autoCCDone(ctx, g.bugs[i], res)
		case permanentCCError(err):
			a.log.Error("auto-CC failed permanently: check announce.auto_cc and the trees' bugzilla logins", "bug", j.BugID, "logins", g.add, "err", err)
			a.finishAutoCC(ctx, j.BugID, "failed: "+err.Error())
		default:
			a.retryAutoCC(ctx, j, err)
		}
	}
}

func permanentCCError(err error) bool {
	return errors.Is(err, bugzilla.ErrUnknownUser) || errors.Is(err, bugzilla.ErrRestricted) ||
		errors.Is(err, bugzilla.ErrNotFound) || errors.Is(err, bugzilla.ErrPermission)
}

// autoCCDone records a successful auto-CC and brings the mirror up to
// date from Bugzilla's answer (no read).
func (a *AutoCC) autoCCDone(ctx context.Context, bug *bugzilla.Bug, res bugzilla.UpdateResult) {
	added := res.Changes["cc"].Added
	a.log.Info("auto-CC done", "bug", bug.ID, "added", added)
	a.finishAutoCC(ctx, bug.ID, "added: "+added)
	a.mirrorUpdate(ctx, bug, res)
}

// mirrorUpdate stores the bug as changed by res. res is applied to the
// mirror's copy of now, not to bug (read from the mirror before the PUT):
// the watcher may have stored a newer state meanwhile (the bug made
// restricted), which the older copy would undo.
func (a *AutoCC) mirrorUpdate(ctx context.Context, bug *bugzilla.Bug, res bugzilla.UpdateResult) {
	if _, err := a.store.ApplyUpdate(ctx, *bug, res); err != nil {
		a.log.Warn("failed to update the mirror after auto-CC", "bug", bug.ID, "err", err)
	}
}

func (a *AutoCC) finishAutoCC(ctx context.Context, bugID int, result string) {
	if err := a.store.FinishAutoCC(ctx, bugID, result); err != nil {
		a.log.Warn("failed to record the auto-CC result", "bug", bugID, "err", err)
	}
}

func (a *AutoCC) retryAutoCC(ctx context.Context, j store.AutoCCJob, err error) {
	d := backoff.Step(j.Attempts, 10*time.Second, time.Hour) // attempts are counted in the store
	a.log.Warn("auto-CC failed, will retry", "bug", j.BugID, "attempt", j.Attempts+1, "retry_in", d, "err", err)
	if rerr := a.store.RetryAutoCC(ctx, j.BugID, a.now().Add(d), err.Error()); rerr != nil {
		a.log.Warn("failed to record the auto-CC retry", "bug", j.BugID, "err", rerr)
	}
}

// holdAutoCC records the logins held back from a restricted bug and tells
// the private channels, once per bug.
func (a *AutoCC) holdAutoCC(ctx context.Context, bugID int, held []string) {
	a.held.clean = false // the next release pass reads the held records
	if err := a.store.HoldAutoCC(ctx, bugID, held); err != nil {
		a.log.Warn("failed to record held-back auto-CC", "bug", bugID, "err", err)
		return
	}
	short := make([]string, len(held))
	for i, l := range held {
		local, _, _ := strings.Cut(l, "@")
		short[i] = local + "@"
	}
	line := chat.Line{}.Bold(fmt.Sprintf("Bug %d", bugID)).
		Text(": not CC'd while restricted: "+strings.Join(short, ", ")+"; a security member can !cc after review. ").
		Link("", a.current().Renderer().BugURL(bugID))
	if err := a.notices.System(ctx, fmt.Sprintf("autocc-held-%d", bugID), line, bugID); err != nil {
		a.log.Warn("failed to queue the held-back auto-CC notice", "bug", bugID, "err", err)
	}
	a.log.Info("auto-CC held back while the bug is restricted", "bug", bugID, "logins", len(held))
}

// notCCd returns the logins not yet on bug's CC list.
func notCCd(logins []string, bug *bugzilla.Bug) []string {
	var out []string
	for _, l := range logins {
		if !bugzilla.LoginIn(l, bug.CC) {
			out = append(out, l)
		}
	}
	return out
}
