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
	"sync"
	"testing"
	"time"

	"github.com/ksecbot/ksecbot/bugzilla/bugzillatest"
	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/internal/fakeclock"
	"github.com/ksecbot/ksecbot/transport"
)

// embargoWorld is a recording transport that knows, as the test's model,
// which bugs are restricted now and which channels are private now, and
// checks every line when it is sent: a line delivered to a public channel
// must not contain a restricted bug's summary, whiteboard, tree names or
// maintainers' nicks or Matrix IDs as of that moment.
//
// The model changes only while the world is "held" (Send refuses, as a
// disconnected network does) and until the bot's mirror has the change:
// so at every Send the model, Bugzilla and the mirror agree.
type embargoWorld struct {
	t        *testing.T
	mu       sync.Mutex
	channels []chat.Channel
	down     bool // the network is down (an operation of the sequence)
	held     bool // the model is being changed
	bugs     map[int]*modelBug
	sent     []chat.Outgoing
	leaks    []string
	notify   chan struct{}
}

type modelBug struct {
	id                     int
	restricted             bool
	summaryWord, boardWord string // unique words of the summary and whiteboard
	tree                   string // "hardened" or "gentoo-sources"
	toggles                int    // restricted <-> public changes after filing
}

// words a public channel must not see of a restricted bug of a tree (the
// tree names and the maintainers of every tree: a withheld line names
// none).
var treeWords = []string{"hardened", "gentoo-sources", "blueness", "zorry", "mpagano", "@blueness:gentoo.org", "@mpagano:gentoo.org"}

func (w *embargoWorld) Network() string { return "irc" }
func (w *embargoWorld) Channels() []chat.Channel {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.channels)
}
func (w *embargoWorld) Run(ctx context.Context, in transport.Inbox) error { <-ctx.Done(); return nil }
func (w *embargoWorld) Connected() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return !w.down && !w.held
}

func (w *embargoWorld) Send(ctx context.Context, out chat.Outgoing) (string, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.down || w.held {
		return "", fmt.Errorf("not connected")
	}
	var ch *chat.Channel
	for i := range w.channels {
		if w.channels[i].Key == out.Channel {
			ch = &w.channels[i]
		}
	}
	if ch == nil {
		w.leaks = append(w.leaks, fmt.Sprintf("message %s to an unknown channel", out.Key))
	} else if !ch.Private {
		w.check(out)
	}
	w.sent = append(w.sent, out)
	select {
	case w.notify <- struct{}{}:
	default:
	}
	return "", nil
}

// check looks for restricted details in a line for a public channel. w.mu
// is held.
func (w *embargoWorld) check(out chat.Outgoing) {
	var texts []string
	for _, net := range []string{"irc", "matrix"} {
		for _, l := range append(slices.Clone(out.Lines), out.Detail...) {
			texts = append(texts, l.Plain(net))
		}
	}
	text := strings.Join(texts, "\n")
	allRestricted := len(out.BugIDs) > 0
	for _, id := range out.BugIDs {
		if b := w.bugs[id]; b == nil || !b.restricted {
			allRestricted = false
		}
	}
	for _, b := range w.bugs {
		if !b.restricted {
			continue
		}
		for _, word := range []string{b.summaryWord, b.boardWord} {
			if strings.Contains(text, word) {
				w.leaks = append(w.leaks, fmt.Sprintf("%s: %q reveals %q of restricted bug %d", out.Key, text, word, b.id))
			}
		}
	}
	if allRestricted {
		// Only about restricted bugs: no tree, no one highlighted. (A
		// digest that also lists public bugs may name their trees.)
		for _, word := range treeWords {
			if strings.Contains(text, word) {
				w.leaks = append(w.leaks, fmt.Sprintf("%s: %q about restricted bugs %v names %q", out.Key, text, out.BugIDs, word))
			}
		}
	}
}

// hold stops deliveries while the model changes; release resumes them.
func (w *embargoWorld) hold() {
	w.mu.Lock()
	w.held = true
	w.mu.Unlock()
}

func (w *embargoWorld) release() {
	w.mu.Lock()
	w.held = false
	w.mu.Unlock()
	select {
	case w.notify <- struct{}{}:
	default:
	}
}

func (w *embargoWorld) snapshot() (sent []chat.Outgoing, leaks []string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.sent), slices.Clone(w.leaks)
}

// TestEmbargoProperty runs random sequences of what happens to bugs,
// channels, the network and the bot - a bug filed public or restricted,
// restricted later, made public later, a channel's privacy toggled by a
// reload, the network down and up, the bot restarted on the same
// database, hours passing so that reminders fall due - against the real store, the bot core and the Bugzilla test
// server, and checks that no line to a public channel ever shows a
// restricted bug's details as of send time, that no bot log line at info
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
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) { runEmbargoSequence(t, seed, 30) })
	}
}

func runEmbargoSequence(t *testing.T, seed uint64, steps int) {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	h := newHarness(t, "")
	botInSecurityGroup(h)
	h.cfg.Bugzilla.PollInterval.Duration = time.Hour // polls only when poked
	h.cfg.Announce.DigestAfter = 2
	h.cfg.Announce.RemindAfter.Duration = 2 * time.Hour
	for i, id := range []string{"@mpagano:gentoo.org", "@blueness:gentoo.org"} {
		h.cfg.Trees[i].Handles["matrix"] = []string{id}
		h.cfg.Trees[i].Members = map[string][]string{"matrix": {id}}
	}
	var logBuf syncBuffer
	h.infoLog = &logBuf
	w := &embargoWorld{t: t, bugs: map[int]*modelBug{}, notify: make(chan struct{}, 1)}
	for _, name := range []string{"#sec", "#pub", "#dev"} {
		w.channels = append(w.channels, chat.Channel{Key: chat.ChannelKey("irc", name), Network: "irc", Name: name, Private: name == "#sec"})
	}
	clock := fakeclock.New(time.Date(2026, 11, 27, 4, 0, 0, 0, time.UTC))
	b, st, stop := h.startAt(clock, w)
	waitPolls(t, b, 1)
	ctx := context.Background()

	// change runs f on the model and in Bugzilla while deliveries are
	// held, and waits until the bot's mirror has it.
	change := func(what string, f func(), settled func() bool) {
		w.hold()
		clock.Set(clock.Now().Add(time.Minute)) // Bugzilla times have 1 s precision
		f()
		if err := b.Intake.Poke(ctx); err != nil {
			t.Fatal(err)
		}
		waitUntil(t, 10*time.Second, what+" in the mirror", settled)
		w.release()
	}
	inMirror := func(id int, restricted bool) func() bool {
		return func() bool {
			bug, ok, err := st.Bug(ctx, id)
			return err == nil && ok && bug.Restricted() == restricted
		}
	}
	var log []string
	file := func(n int) {
		var ids []int
		var model []*modelBug
		change(fmt.Sprintf("%d new bugs", n), func() {
			for range n {
				m := &modelBug{restricted: rng.IntN(2) == 0, tree: []string{"hardened", "gentoo-sources"}[rng.IntN(2)]}
				word := fmt.Sprintf("sekrit%08x", rng.Uint32())
				m.summaryWord, m.boardWord = word, "board"+word[6:]
				pkg := "sys-kernel/hardened-sources"
				if m.tree == "gentoo-sources" {
					pkg = "sys-kernel/gentoo-sources"
				}
				nb := bugzillatest.NewBug{Summary: pkg + ": " + word + " overflow", Whiteboard: "B2 [" + m.boardWord + "]"}
				if m.restricted {
					nb.Groups = []string{"security"}
				}
				m.id = h.srv.CreateBug(nb)
				ids = append(ids, m.id)
				model = append(model, m)
			}
			w.mu.Lock()
			for _, m := range model {
				w.bugs[m.id] = m
			}
			w.mu.Unlock()
		}, func() bool {
			for _, m := range model {
				if !inMirror(m.id, m.restricted)() {
					return false
				}
			}
			return true
		})
		log = append(log, fmt.Sprintf("file %v", ids))
	}
	for step := 0; step < steps; step++ {
		w.mu.Lock()
		var known []*modelBug
		for _, m := range w.bugs {
			known = append(known, m)
		}
		w.mu.Unlock()
		slices.SortFunc(known, func(a, b *modelBug) int { return a.id - b.id })
		switch op := rng.IntN(10); {
		case op < 3 || len(known) == 0:
			file(1)
		case op == 3:
			file(3 + rng.IntN(2)) // a burst: a digest
		case op == 4 || op == 5:
			m := known[rng.IntN(len(known))]
			to := !m.restricted
			change(fmt.Sprintf("bug %d restricted=%v", m.id, to), func() {
				h.srv.UpdateBug(m.id, func(bg *bugzillatest.Bug) {
					if to {
						bg.Groups = []string{"security"}
					} else {
						bg.Groups = nil
					}
				})
				w.mu.Lock()
				m.restricted = to
				m.toggles++
				w.mu.Unlock()
			}, inMirror(m.id, to))
			log = append(log, fmt.Sprintf("bug %d restricted=%v", m.id, to))
		case op == 6:
			i := rng.IntN(len(w.channels))
			w.hold()
			w.mu.Lock()
			w.channels[i].Private = !w.channels[i].Private
			log = append(log, fmt.Sprintf("reload: %s private=%v", w.channels[i].Name, w.channels[i].Private))
			w.mu.Unlock()
			w.release()
		case op == 7:
			w.mu.Lock()
			w.down = !w.down
			log = append(log, fmt.Sprintf("network down=%v", w.down))
			w.mu.Unlock()
			w.release()
		case op == 8 && rng.IntN(2) == 0:
			// Hours pass: unclaimed bugs are reminded (through the policy).
			clock.Set(clock.Now().Add(3 * time.Hour))
			if err := b.Reminders.RemindDue(ctx); err != nil {
				t.Fatal(err)
			}
			log = append(log, "3h pass, reminders")
		case op == 8:
			stop()
			b, st, stop = h.startAt(clock, w)
			log = append(log, "restart")
		default:
			// let deliveries happen
			sent, _ := w.snapshot()
			deadline := time.Now().Add(200 * time.Millisecond)
			for time.Now().Before(deadline) {
				if s, _ := w.snapshot(); len(s) > len(sent) {
					break
				}
				select {
				case <-w.notify:
				case <-time.After(20 * time.Millisecond):
				}
			}
			log = append(log, "wait")
		}
	}

	// The network comes back: everything queued goes out.
	w.mu.Lock()
	w.down = false
	w.mu.Unlock()
	w.release()
	waitDelivered(t, st)
	stop()

	sent, leaks := w.snapshot()
	t.Logf("seed %d: %d steps, %d bugs, %d lines sent; sequence: %s", seed, steps, len(w.bugs), len(sent), strings.Join(log, "; "))
	for _, l := range leaks {
		t.Errorf("leak: %s", l)
	}
	// Exactly once: no key twice; every bug announced (alone or in a
	// digest) once per channel; every restricted <-> public change told
	// once per channel.
	keys := map[string]int{}
	got := map[string]map[int]int{}     // channel -> bug -> announcements
	changes := map[string]map[int]int{} // channel -> bug -> change lines
	for _, m := range sent {
		keys[m.Key]++
		if got[m.Channel] == nil {
			got[m.Channel], changes[m.Channel] = map[int]int{}, map[int]int{}
		}
		for _, id := range m.BugIDs {
			switch m.Kind {
			case chat.KindAnnounce, chat.KindDigest:
				got[m.Channel][id]++
			case chat.KindChange:
				changes[m.Channel][id]++
			}
		}
	}
	for k, n := range keys {
		if n > 1 {
			t.Errorf("message %s sent %d times", k, n)
		}
	}
	for _, ch := range w.channels {
		for id, m := range w.bugs {
			if n := got[ch.Key][id]; n != 1 {
				t.Errorf("bug %d announced %d times in %s, want once", id, n, ch.Name)
			}
			if n := changes[ch.Key][id]; n != m.toggles {
				t.Errorf("bug %d: %d change lines in %s, want %d (one per restricted/public change)", id, n, ch.Name, m.toggles)
			}
		}
	}
	// No summary in the log at info level (restricted or not: the log is
	// not a channel).
	logs := logBuf.String()
	for _, m := range w.bugs {
		if strings.Contains(logs, m.summaryWord) || strings.Contains(logs, m.boardWord) {
			t.Errorf("the info log contains the summary or whiteboard of bug %d", m.id)
		}
	}
}
