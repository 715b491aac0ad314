// SPDX-License-Identifier: GPL-3.0-or-later

package bot_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ksecbot/ksecbot/bot"
	"github.com/ksecbot/ksecbot/bugzilla/bugzillatest"
	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/internal/fakeclock"
	"github.com/ksecbot/ksecbot/store"
)

// TestEmbargoProperty runs random sequences of what happens to bugs,
// channels, the network, Bugzilla's key and the bot - a bug filed public or
// restricted, restricted later, made public later, restricted into a group
// ksecbot's account is not in and made public again, wrangled to another
// component and back, deleted; a channel's privacy toggled by a reload; the
// network down and up; Bugzilla refusing ksecbot's key and accepting it
// again; the bot restarted on the same database; hours passing so that
// reminders fall due; !bug asked in public channels - against the real
// store, the bot core and the Bugzilla test server. It checks that no line
// or reply to a public channel shows a secret bug's details (see
// embargoWorld: restricted, or out of ksecbot's sight for longer than one
// reconcile interval), that no write ever CC'd anyone but the [announce]
// restricted_auto_cc login onto a bug the read before it showed restricted
// (checkAutoCC), that no bot log line at info
// level contains a bug's summary, and that in the end every announcement
// and change line reached every channel exactly once.
//
// KSECBOT_PROPERTY_SEED=N replays one sequence; KSECBOT_PROPERTY_RUNS sets
// how many random ones run (default 4).
func TestEmbargoProperty(t *testing.T) {
	runs := 4
	if v, err := strconv.Atoi(os.Getenv("KSECBOT_PROPERTY_RUNS")); err == nil && v > 0 {
		runs = v
	}
	seeds := make([]uint64, runs)
	for i := range seeds {
		seeds[i] = uint64(time.Now().UnixNano()) + uint64(i)*7919
	}
	if v, err := strconv.ParseUint(os.Getenv("KSECBOT_PROPERTY_SEED"), 10, 64); err == nil {
		seeds = []uint64{v}
	}
	for _, seed := range seeds {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) { runEmbargoSequence(t, seed, 40) })
	}
}

// The property world's reconciliation interval, and what the leak check
// allows after a change no search shows: one interval, and one more
// second for the reconciliation itself.
const (
	propertyReconcile = time.Second
	propertyWindow    = propertyReconcile + time.Second
)

// propertyRun is one sequence's bot, world and model.
type propertyRun struct {
	t     *testing.T
	rng   *rand.Rand
	h     *harness
	w     *embargoWorld
	clock *fakeclock.Clock
	b     *bot.Bot
	st    *store.Store
	stop  func()
	log   []string
	keyOK bool
	asked int
}

func runEmbargoSequence(t *testing.T, seed uint64, steps int) {
	h := newHarness(t, "")
	botInSecurityGroup(h)
	h.keyRetry = 50 * time.Millisecond
	h.cfg.Bugzilla.PollInterval.Duration = time.Hour // polls only when poked
	h.cfg.Bugzilla.ReconcileInterval.Duration = propertyReconcile
	h.cfg.Announce.DigestAfter = 2
	h.cfg.Announce.RemindAfter.Duration = 2 * time.Hour
	h.cfg.Announce.AutoCC = []string{"bob@gentoo.org", "alice@gentoo.org"}
	h.cfg.Announce.RestrictedAutoCC = []string{"bob@gentoo.org"}
	for i, id := range []string{"@mpagano:gentoo.org", "@blueness:gentoo.org"} {
		h.cfg.Trees[i].Handles["matrix"] = []string{id}
		h.cfg.Trees[i].Members = map[string][]string{"matrix": {id}}
	}
	var logBuf, debugBuf syncBuffer
	h.infoLog, h.debugLog = &logBuf, &debugBuf
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("the bot's log:\n%s", debugBuf.String())
		}
	})
	w := &embargoWorld{t: t, window: propertyWindow, bugs: map[int]*modelBug{}, notify: make(chan struct{}, 1)}
	for _, name := range []string{"#sec", "#pub", "#dev"} {
		w.channels = append(w.channels, chat.Channel{Key: chat.ChannelKey("irc", name), Network: "irc", Name: name, Private: name == "#sec"})
	}
	p := &propertyRun{t: t, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), h: h, w: w, keyOK: true,
		clock: fakeclock.New(time.Date(2026, 11, 27, 4, 0, 0, 0, time.UTC))}
	p.b, p.st, p.stop = h.startAt(p.clock, w)
	waitPolls(t, p.b, 1)
	for range steps {
		p.step()
	}

	// Bugzilla accepts the key and the network comes back: everything
	// queued goes out.
	if !p.keyOK {
		p.keyBack()
	}
	w.mu.Lock()
	w.down = false
	w.mu.Unlock()
	w.release()
	p.observe()
	waitDelivered(t, p.st)
	p.stop()
	p.verify(logBuf.String(), seed, steps)
}

// step runs one random operation.
func (p *propertyRun) step() {
	in, out := p.known()
	w := p.w
	switch op := p.rng.IntN(15); {
	case op < 3 || len(in) == 0:
		p.file(1)
	case op == 3:
		p.file(3 + p.rng.IntN(2)) // a burst: a digest
	case op == 4 || op == 5:
		p.toggle(in[p.rng.IntN(len(in))])
	case op == 6:
		i := p.rng.IntN(len(w.channels))
		w.hold()
		w.mu.Lock()
		w.channels[i].Private = !w.channels[i].Private
		p.logf("reload: %s private=%v", w.channels[i].Name, w.channels[i].Private)
		w.mu.Unlock()
		w.release()
	case op == 7:
		w.mu.Lock()
		w.down = !w.down
		p.logf("network down=%v", w.down)
		w.mu.Unlock()
		w.release()
	case op == 8 && p.rng.IntN(2) == 0:
		// Hours pass: unclaimed bugs are reminded (through the policy).
		p.clock.Set(p.clock.Now().Add(3 * time.Hour))
		if err := p.b.Reminders.RemindDue(context.Background()); err != nil {
			p.t.Fatal(err)
		}
		p.logf("3h pass, reminders")
	case op == 8:
		p.stop()
		p.b, p.st, p.stop = p.h.startAt(p.clock, w)
		p.logf("restart")
	case op == 9:
		if p.keyOK {
			p.keyRefused()
		} else {
			p.keyBack()
		}
	case op == 10 || op == 11:
		p.outOfSight(in[p.rng.IntN(len(in))])
	case op == 12 && len(out) > 0:
		p.backInSight(out[p.rng.IntN(len(out))])
	default:
		p.askAndWait()
	}
}

func (p *propertyRun) logf(format string, args ...any) {
	p.log = append(p.log, fmt.Sprintf(format, args...))
}

// known returns the model's bugs in sight (not deleted, not moved out,
// not in the invisible group) and those out of it that may come back.
func (p *propertyRun) known() (in, out []*modelBug) {
	p.w.mu.Lock()
	defer p.w.mu.Unlock()
	for _, m := range p.w.bugs {
		switch {
		case m.deleted:
		case m.movedOut || !m.outSince.IsZero():
			out = append(out, m)
		default:
			in = append(in, m)
		}
	}
	slices.SortFunc(in, func(a, b *modelBug) int { return a.id - b.id })
	slices.SortFunc(out, func(a, b *modelBug) int { return a.id - b.id })
	return in, out
}

// change runs f on the model and in Bugzilla while deliveries are held,
// and waits until settled (the bot's mirror has what it can know of it).
func (p *propertyRun) change(what string, f func(), settled func() bool) {
	p.w.hold()
	p.clock.Set(p.clock.Now().Add(time.Minute)) // Bugzilla times have 1 s precision
	f()
	p.b.Intake.Watcher().Poke()
	deadline := time.Now().Add(20 * time.Second)
	for !settled() {
		if time.Now().After(deadline) {
			p.t.Fatalf("timed out waiting for %s in the mirror; sequence: %s", what, strings.Join(p.log, "; "))
		}
		time.Sleep(10 * time.Millisecond) // polling the mirror, not synchronisation
	}
	p.observe()
	p.w.release()
}

// mirrorBug returns the bot's mirror copy of a bug.
func (p *propertyRun) mirrorBug(id int) (restricted, gone, unconfirmed, ok bool) {
	b, ok, err := p.st.Bug(context.Background(), id)
	if err != nil || !ok {
		return false, false, false, false
	}
	return b.Restricted(), b.Sight.Gone, b.Sight.Unconfirmed, true
}

// observe records what the mirror shows now: which bugs it has and the
// changes of their restricted state (one change line each; a bug out of
// the watches has none).
func (p *propertyRun) observe() {
	p.w.mu.Lock()
	defer p.w.mu.Unlock()
	for _, m := range p.w.bugs {
		r, gone, _, ok := p.mirrorBug(m.id)
		if !ok || gone || m.deleted || m.movedOut {
			continue
		}
		if !m.mirrored {
			m.mirrored, m.seenRestricted = true, r
			continue
		}
		if r != m.seenRestricted {
			m.seenRestricted = r
			m.toggles++
		}
	}
}

func (p *propertyRun) file(n int) {
	var model []*modelBug
	p.change(fmt.Sprintf("%d new bugs", n), func() {
		for range n {
			m := &modelBug{restricted: p.rng.IntN(2) == 0, tree: []string{"hardened", "gentoo-sources"}[p.rng.IntN(2)]}
			m.filedRestricted = m.restricted
			word := fmt.Sprintf("sekrit%08x", p.rng.Uint32())
			m.summaryWord, m.boardWord = word, "board"+word[6:]
			pkg := "sys-kernel/hardened-sources"
			if m.tree == "gentoo-sources" {
				pkg = "sys-kernel/gentoo-sources"
			}
			nb := bugzillatest.NewBug{Summary: pkg + ": " + word + " overflow", Whiteboard: "B2 [" + m.boardWord + "]"}
			if m.restricted {
				nb.Groups = []string{"security"}
			}
			m.id = p.h.srv.CreateBug(nb)
			m.groups = []groupChange{{after: len(p.h.srv.Requests()), restricted: m.restricted}}
			model = append(model, m)
		}
		p.w.mu.Lock()
		for _, m := range model {
			p.w.bugs[m.id] = m
		}
		p.w.mu.Unlock()
	}, func() bool {
		for _, m := range model {
			// A restricted bug filed while the key is refused is found
			// when it works again.
			if r, _, _, ok := p.mirrorBug(m.id); (!ok || r != m.restricted) && (p.keyOK || !m.restricted) {
				return false
			}
		}
		return true
	})
	var ids []int
	for _, m := range model {
		ids = append(ids, m.id)
	}
	p.logf("file %v", ids)
}
