// SPDX-License-Identifier: GPL-3.0-or-later

package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ksecbot/ksecbot/store"
)

// Storage faults. When the database cannot be written (disk full, another
// process holding the write lock), a message that went out cannot be
// recorded as sent. Sending it again on the next round would repeat it
// every few seconds for as long as the fault lasts, so the deliverer
// remembers in memory what went out, pauses that channel, and retries the
// record before it sends anything more there. /healthz answers 503 and one
// ERROR line says what is wrong; one INFO line says when it is over. Only
// a restart during the fault can send such a message a second time.

// StoreGuard keeps delivery safe from storage faults: it remembers the
// messages that went out but could not be recorded (and records them
// later), notices the database file vanishing (and then halts delivery),
// and reports both on /healthz. Safe for concurrent use.
type StoreGuard struct {
	store  *store.Store
	log    *slog.Logger
	now    func() time.Time
	sf     storeFaults // sent messages not yet recorded, storage faults
	halted atomic.Bool // the database is corrupted or its file vanished: deliver nothing more
	aside  atomic.Bool // the open database was set aside (store.SetAside)
	// saveFails counts failed tries to set the database aside (the
	// watch's goroutine, then Run's once the watch stopped).
	saveFails int
}

// NewStoreGuard returns the guard of o.Store.
func NewStoreGuard(o Options) *StoreGuard {
	o = o.WithDefaults()
	return &StoreGuard{store: o.Store, log: o.Logger, now: o.Now}
}

// Loops returns the watch of the database, for Bot.Run.
func (g *StoreGuard) Loops() []Loop { return []Loop{{"store", g.watchStore}} }

// Halted reports whether delivery stopped for good (the database is
// corrupted or its file vanished).
func (g *StoreGuard) Halted() bool { return g.halted.Load() }

// Halt stops delivery for good.
func (g *StoreGuard) Halt() { g.halted.Store(true) }

// Unrecorded returns how many messages went out and wait for their
// record.
func (g *StoreGuard) Unrecorded() int { return g.sf.outstanding() }

// unmarked is a message that went out but is not yet recorded as sent.
type unmarked struct {
	id        int64
	network   string
	channel   string
	key       string
	networkID string
}

// storeFaults is the bot's memory of storage faults.
type storeFaults struct {
	mu       sync.Mutex
	unmarked map[int64]unmarked
	reason   map[string]string // fault name -> what is wrong (for /healthz)
}

// setFault records a storage fault; it reports whether it is new.
func (f *storeFaults) setFault(name, reason string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.reason == nil {
		f.reason = map[string]string{}
	}
	_, had := f.reason[name]
	f.reason[name] = reason
	return !had
}

// clearFault ends a storage fault; it reports whether there was one.
func (f *storeFaults) clearFault(name string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, had := f.reason[name]
	delete(f.reason, name)
	return had
}

// faults returns the current storage faults, sorted.
func (f *storeFaults) faults() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, r := range f.reason {
		out = append(out, r)
	}
	sort.Strings(out)
	return out
}

// remember records a message that went out but could not be marked sent.
func (f *storeFaults) remember(u unmarked) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.unmarked == nil {
		f.unmarked = map[int64]unmarked{}
	}
	f.unmarked[u.id] = u
}

// pending returns the network's messages waiting for their record, oldest
// first.
func (f *storeFaults) pending(network string) []unmarked {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []unmarked
	for _, u := range f.unmarked {
		if u.network == network {
			out = append(out, u)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

// isUnmarked reports whether outbox item id went out already.
func (f *storeFaults) isUnmarked(id int64) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.unmarked[id]
	return ok
}

// forget drops a message whose record is written.
func (f *storeFaults) forget(id int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.unmarked, id)
}

// outstanding reports how many messages wait for their record.
func (f *storeFaults) outstanding() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.unmarked)
}

// faultUnmarked names the storage fault of messages sent but not recorded.
const faultUnmarked = "unmarked"

// markSent records a delivered message as sent, even when shutdown has
// begun (the line is out: it must not be sent again after a restart).
func (g *StoreGuard) markSent(ctx context.Context, id int64, networkID string) error {
	mctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	err := g.store.MarkSent(mctx, id, networkID)
	if errors.Is(err, store.ErrNotFound) {
		return nil // the row is gone: nothing to record
	}
	return err
}

// sentButUnmarked handles a message that went out but could not be
// recorded: remember it, pause its channel, say so once.
func (g *StoreGuard) sentButUnmarked(u unmarked, err error) {
	g.sf.remember(u)
	if g.sf.setFault(faultUnmarked, "store: cannot record sent messages: "+err.Error()) {
		g.log.Error("the database cannot be written (disk full? another process holding its write lock?): a sent message cannot be recorded as sent, so delivery to its channel pauses until the database is writable again; nothing is sent twice",
			"path", g.store.Path(), "channel", u.channel, "key", u.key, "err", err)
	}
}

// retryMarks tries again to record the network's sent messages. It returns
// the channels that still wait for a record: nothing more goes there yet.
func (g *StoreGuard) retryMarks(ctx context.Context, network string) map[string]bool {
	blocked := map[string]bool{}
	failing := false
	for _, u := range g.sf.pending(network) {
		if blocked[u.channel] || failing {
			blocked[u.channel] = true // keep order per channel
			continue
		}
		if err := g.markSent(ctx, u.id, u.networkID); err != nil {
			// The database is still unwritable: one try per round, not
			// one (of up to 5 s) per channel.
			blocked[u.channel] = true
			failing = true
			continue
		}
		g.sf.forget(u.id)
	}
	if g.sf.outstanding() == 0 && g.sf.clearFault(faultUnmarked) {
		g.log.Info("the database is writable again: sent messages recorded, delivery resumed")
	}
	return blocked
}

// Problems returns the storage faults for /healthz.
func (g *StoreGuard) Problems() []string { return g.sf.faults() }

// Storage faults that end the bot.
const (
	faultVanished = "vanished" // the file removed or replaced
	faultCorrupt  = "corrupt"  // SQLite found corruption
)

// storeCheckEvery is how often the bot checks that its database file is
// still there (one stat).
const storeCheckEvery = time.Second

// watchStore ends the bot when its database cannot be gone on with.
//
// SQLite found corruption (any query, store.Faulted): going on would
// fail every write and announce nothing, so the bot logs one ERROR with
// the recovery steps, answers /healthz 503 naming the database, stops
// delivering and returns the error (wrapping store.ErrCorrupt: exit 65, a
// restart cannot help).
//
// The database file (or its directory) was removed or replaced: going on
// would write to a file nobody can open again, and a restart would find
// an empty database, none, or the replacement with the old WAL replayed
// into it. The bot logs one ERROR, answers /healthz 503, stops delivering
// and sets the open database aside (store.SetAside: saved to its path, or
// next to the file that replaced it as <path>.replaced-<time>, which stays
// as it is); then it stops with an error wrapping store.ErrVanished (exit
// 75), so that the service manager restarts it on the file at the path.
// While the copy cannot be written it keeps trying and keeps running
// paused: exiting would lose the only copy.
func (g *StoreGuard) watchStore(ctx context.Context) error {
	tick := time.NewTicker(storeCheckEvery)
	defer tick.Stop()
	faulted := g.store.Faulted()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-faulted:
			faulted = nil // closed for good: look once
		case <-tick.C:
		}
		if err := g.store.Fault(); errors.Is(err, store.ErrCorrupt) {
			return g.corrupted(err)
		}
		if err := g.store.CheckFile(); err != nil {
			if stop := g.vanished(ctx, err); stop != nil {
				return stop
			}
		}
	}
}

// corrupted handles corruption found while running.
func (g *StoreGuard) corrupted(err error) error {
	g.halted.Store(true)
	if g.sf.setFault(faultCorrupt, "store: "+err.Error()) {
		g.log.Error("the database is corrupted: delivery stopped and ksecbot stops; repair the database before starting it again",
			"path", g.store.Path(), "err", err)
	}
	return err
}

// vanished handles the database file removed or replaced: it sets the
// open database aside and returns the error to end the bot with, or nil
// while that failed (to be tried again).
func (g *StoreGuard) vanished(ctx context.Context, err error) error {
	g.halted.Store(true)
	path := g.store.Path()
	if g.sf.setFault(faultVanished, "store: "+err.Error()) {
		g.log.Error("the database file was removed or replaced while ksecbot runs: delivery stopped; setting the open database aside and stopping, to be restarted on the file at the path",
			"path", path, "err", err)
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	dest, serr := g.store.SetAside(sctx, g.now())
	cancel()
	if serr != nil {
		g.saveFails++
		if n := g.saveFails; n&(n-1) == 0 { // at first, then as the count doubles
			g.log.Error("could not save the open database; still running with delivery stopped, retrying", "path", dest, "err", serr, "tries", n)
		}
		return nil
	}
	g.aside.Store(true)
	if dest == path {
		return fmt.Errorf("%w; the open database was saved to %s again: restart ksecbot (the service manager does) to go on with it", err, dest)
	}
	return fmt.Errorf("%w. ksecbot saved its own database as %s and left the file now at %s as it is: restarted (the service manager does that on exit 75), ksecbot runs on that file. To go on with ksecbot's own database instead, stop ksecbot and move %s to %s",
		err, dest, path, dest, path)
}

// settle decides how the bot ends once its parts stopped with err (nil:
// asked to stop). A corrupted database is what to report, whatever part
// failed first. A database file that vanished is set aside first if the
// watch did not do it yet (the bot stopping for another reason in
// between): for up to a minute, since exiting without it would lose the
// only copy.
func (g *StoreGuard) settle(err error) error {
	if ferr := g.store.Fault(); errors.Is(ferr, store.ErrCorrupt) && !errors.Is(err, store.ErrCorrupt) {
		return g.corrupted(ferr)
	}
	if g.aside.Load() {
		return err
	}
	verr := g.store.CheckFile()
	if verr == nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for {
		if stop := g.vanished(ctx, verr); stop != nil {
			return stop
		}
		select {
		case <-ctx.Done():
			g.log.Error("gave up saving the open database; it is lost", "path", g.store.Path())
			return errors.Join(err, verr)
		case <-time.After(storeCheckEvery):
		}
	}
}
