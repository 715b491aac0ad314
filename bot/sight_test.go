// SPDX-License-Identifier: GPL-3.0-or-later

package bot_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ksecbot/ksecbot/bot"
	"github.com/ksecbot/ksecbot/bugzilla/bugzillatest"
	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/internal/fakeclock"
	"github.com/ksecbot/ksecbot/store"
)

// sightWorld is a bot with a private and a public channel (previews on),
// reconciling every given interval, and what the tests ask it.
type sightWorld struct {
	t     *testing.T
	h     *harness
	rec   *recorder
	b     *bot.Bot
	st    *store.Store
	clock *fakeclock.Clock
	words map[int]string // bug -> the word only its summary has
	asked int
}

const (
	privKey = "test:#gentoo-security"
	pubKey  = "test:#gentoo-kernel"
)

func newSightWorld(t *testing.T, reconcile time.Duration) *sightWorld {
	t.Helper()
	h := newHarness(t, "")
	botInSecurityGroup(h)
	h.keyRetry = 100 * time.Millisecond
	h.cfg.Bugzilla.ReconcileInterval.Duration = reconcile
	h.cfg.Announce.RemindAfter.Duration = time.Hour
	rec := newRecorder("test", "#gentoo-security", "#gentoo-kernel")
	rec.channels[1].Previews = true
	w := &sightWorld{t: t, h: h, rec: rec, clock: fakeclock.New(time.Now().UTC().Truncate(time.Second)), words: map[int]string{}}
	w.b, w.st, _ = h.startAt(w.clock, rec)
	waitPolls(t, w.b, 1)
	return w
}

// file files a public bug with a word of its own in the summary and waits
// for its announcement in both channels.
func (w *sightWorld) file(word string) int {
	w.t.Helper()
	id := w.h.srv.CreateBug(bugzillatest.NewBug{Summary: "sys-kernel/gentoo-sources: " + word + " in net/sched"})
	w.words[id] = word
	w.b.Intake.Watcher().Poke()
	for _, ch := range []string{privKey, pubKey} {
		announcementIn(w.t, w.rec, id, ch)
	}
	return id
}

// ask sends a command to a channel as an unidentified user and returns the
// answer.
func (w *sightWorld) ask(ch int, text string) string {
	w.asked++
	who := chat.Identity{Network: "test", Nick: fmt.Sprintf("user%d", w.asked), Host: fmt.Sprintf("h%d.example.net", w.asked)}
	return ask(w.t, w.b.Live.Router(), w.rec.channels[ch], who, text)
}

// reconciled waits until n more reconciliations ran.
func (w *sightWorld) reconciled(n int64) {
	w.t.Helper()
	want := w.b.Intake.Watcher().ReconcileStats().Runs + n
	waitUntil(w.t, 20*time.Second, fmt.Sprintf("%d reconciliations", n), func() bool {
		return w.b.Intake.Watcher().ReconcileStats().Runs >= want
	})
}

// checkOutOfSight checks what must hold for bugs out of ksecbot's sight
// (the private channel has been told): no public line or reply sent after
// since carries their details, !pending omits them, their reminders do
// not fire, and each private line was sent exactly once.
func (w *sightWorld) checkOutOfSight(since int, out map[int]string, inSight ...int) {
	t := w.t
	t.Helper()
	w.reconciled(3) // more rounds: told once, not once per round
	sent := w.rec.sentCopy()
	for id, line := range out {
		if n := withText(systemLines(sent, privKey), line); n != 1 {
			t.Errorf("bug %d: the private channel got %q %d times, want once", id, line, n)
		}
		for _, m := range sent[since:] {
			if m.Channel != privKey && slices.Contains(m.BugIDs, id) && strings.Contains(strings.Join(m.Plain("irc"), " "), w.words[id]) {
				t.Errorf("bug %d: a line to %s carries its details: %q", id, m.Channel, m.Plain("irc"))
			}
		}
		for _, q := range []string{fmt.Sprintf("!bug %d", id), fmt.Sprintf("what about bug %d?", id)} {
			if got := w.ask(1, q); strings.Contains(got, w.words[id]) {
				t.Errorf("bug %d: %q in the public channel answers with its details: %q", id, q, got)
			}
		}
	}
	for ch := range 2 {
		got := w.ask(ch, "!pending")
		for id := range out {
			if strings.Contains(got, fmt.Sprintf("Bug %d ", id)) {
				t.Errorf("!pending in %s lists bug %d, which is out of sight: %q", w.rec.channels[ch].Name, id, got)
			}
		}
		for _, id := range inSight {
			if !strings.Contains(got, fmt.Sprintf("Bug %d ", id)) {
				t.Errorf("!pending in %s omits bug %d, still in sight: %q", w.rec.channels[ch].Name, id, got)
			}
		}
	}
	// Hours pass: the bugs in sight are reminded, those out of it are not.
	w.clock.Advance(2 * time.Hour)
	if err := w.b.Reminders.RemindDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(inSight) > 0 {
		w.rec.waitFor(t, 10*time.Second, "the reminders of the bugs in sight", func(m []chat.Outgoing) bool {
			return len(reminded(w.rec)[inSight[0]]) == 2
		})
	}
	for id := range out {
		if chans := reminded(w.rec)[id]; len(chans) > 0 {
			t.Errorf("bug %d, out of sight, was reminded in %v", id, chans)
		}
	}
}

// TestOutOfSightWithinOneInterval: bugs ksecbot announced go out of its
// sight in the ways a search cannot show - restricted into a group its
// account is not in, moved to another product, deleted. The next
// reconciliation (every second here) notices each: the private channel is
// told once per bug, public replies carry none of their details, !pending
// omits them and their reminders do not fire. A gone bug made visible again
// is announced like a bug that moved in.
func TestOutOfSightWithinOneInterval(t *testing.T) {
	w := newSightWorld(t, time.Second)
	embargoed := w.file("sekritembargo")
	moved := w.file("wrangledaway")
	deleted := w.file("deletedbug")
	kept := w.file("stillhere")
	since := len(w.rec.sentCopy())

	w.clock.Advance(time.Minute)
	runs := w.b.Intake.Watcher().ReconcileStats().Runs
	w.h.srv.UpdateBug(embargoed, func(b *bugzillatest.Bug) { b.Groups = []string{"kernel-embargo"} })
	w.h.srv.UpdateBug(moved, func(b *bugzillatest.Bug) { b.Product, b.Component = "Gentoo Linux", "Current packages" })
	w.h.srv.DeleteBug(deleted)
	out := map[int]string{
		embargoed: fmt.Sprintf("Bug %d is no longer visible to ksecbot", embargoed),
		moved:     fmt.Sprintf("Bug %d moved to Gentoo Linux/Current packages", moved),
		deleted:   fmt.Sprintf("Bug %d is no longer visible to ksecbot", deleted),
	}
	waitUntil(t, 20*time.Second, "the mirror to see the three out of sight", func() bool {
		for _, id := range []int{embargoed, moved, deleted} {
			b, ok, err := w.st.Bug(context.Background(), id)
			if err != nil || !ok || !b.Sight.Gone && b.Product != "Gentoo Linux" {
				return false
			}
		}
		return true
	})
	if n := w.b.Intake.Watcher().ReconcileStats().Runs - runs; n > 2 {
		t.Errorf("noticed after %d reconciliations, want at most 2 (the one under way and the next)", n)
	}
	w.rec.waitFor(t, 20*time.Second, "the private channel told of each", func(m []chat.Outgoing) bool {
		for _, line := range out {
			if withText(systemLines(m, privKey), line) == 0 {
				return false
			}
		}
		return true
	})
	if got := systemLines(w.rec.sentCopy(), pubKey); len(got) != 0 {
		t.Errorf("the public channel got system lines: %q", got)
	}
	w.checkOutOfSight(since, out, kept)

	// The operator puts ksecbot's account in the embargo group: the next
	// reconciliation sees the bug again and announces it once more
	// (withheld in public: it is restricted).
	w.h.srv.AddUser(bugzillatest.User{Login: "ksecbot@gentoo.org", APIKey: "key-ksecbot", Groups: []string{"editbugs", "security", "kernel-embargo"}})
	back := func(ch string) string {
		key := fmt.Sprintf("announce/%d-back", embargoed)
		for _, m := range w.rec.sentCopy() {
			if m.Channel == ch && strings.HasPrefix(m.Key, key) {
				return strings.Join(m.Plain("irc"), " ")
			}
		}
		return ""
	}
	w.rec.waitFor(t, 20*time.Second, "the bug visible again, announced in both channels", func([]chat.Outgoing) bool {
		return back(privKey) != "" && back(pubKey) != ""
	})
	if got := back(privKey); !strings.Contains(got, "is visible to ksecbot again in Gentoo Security/Kernel") || !strings.Contains(got, "sekritembargo") {
		t.Errorf("private channel: %q", got)
	}
	if got := back(pubKey); !strings.Contains(got, "details withheld") || strings.Contains(got, "sekritembargo") {
		t.Errorf("public channel: %q", got)
	}
	w.reconciled(2)
	for _, ch := range []string{privKey, pubKey} {
		n := 0
		for _, m := range w.rec.sentCopy() {
			if m.Channel == ch && strings.HasPrefix(m.Key, fmt.Sprintf("announce/%d-back", embargoed)) {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%s got the visible-again announcement %d times, want once", ch, n)
		}
	}
	if got := w.ask(0, "!pending"); !strings.Contains(got, fmt.Sprintf("Bug %d ", embargoed)) || strings.Contains(got, fmt.Sprintf("Bug %d ", deleted)) {
		t.Errorf("!pending after the bug came back: %q", got)
	}
}

// TestRestrictedDuringKeyOutage: Bugzilla refuses ksecbot's key; meanwhile
// a public bug is restricted into a group ksecbot's account is not in, a
// restricted bug is filed (then public activity moves the anonymous
// cursor past it) and a public one. During the outage no public reply
// carries the restricted bug's details (ksecbot cannot tell it was
// restricted). When the key works again the cursors go back to where the
// outage began: the restricted bug filed meanwhile is announced, the other
// is found gone, and the rules of TestOutOfSightWithinOneInterval hold.
func TestRestrictedDuringKeyOutage(t *testing.T) {
	w := newSightWorld(t, time.Second)
	hidden := w.file("hushhush")
	kept := w.file("stillpublic")
	since := len(w.rec.sentCopy())

	w.h.srv.SetAPIKey("ksecbot@gentoo.org", "key-rotated")
	w.clock.Advance(time.Minute)
	w.b.Intake.Watcher().Poke()
	waitUntil(t, 10*time.Second, "the outage recorded", func() bool {
		_, _, ok, _ := w.st.Outage(context.Background())
		return ok
	})
	w.clock.Advance(time.Minute)
	w.h.srv.UpdateBug(hidden, func(b *bugzillatest.Bug) { b.Groups = []string{"kernel-embargo"} })
	secret := w.h.srv.CreateBug(bugzillatest.NewBug{Summary: "sys-kernel/gentoo-sources: filedwhilerefused", Groups: []string{"security"}})
	w.words[secret] = "filedwhilerefused"
	w.clock.Advance(time.Minute)
	public := w.file("publicduringoutage") // polled anonymously: the cursor passes the secret bug
	w.reconciled(2)
	for _, q := range []string{fmt.Sprintf("!bug %d", hidden), fmt.Sprintf("bug %d", hidden), "!pending"} {
		if got := w.ask(1, q); strings.Contains(got, "hushhush") {
			t.Errorf("during the outage %q in the public channel shows the bug restricted meanwhile: %q", q, got)
		}
	}
	if got := w.ask(1, fmt.Sprintf("!bug %d", public)); !strings.Contains(got, "publicduringoutage") {
		t.Errorf("a bug read anonymously during the outage (public) is withheld: %q", got)
	}

	w.h.srv.SetAPIKey("ksecbot@gentoo.org", "key-ksecbot")
	out := map[int]string{hidden: fmt.Sprintf("Bug %d is no longer visible to ksecbot", hidden)}
	w.rec.waitFor(t, 20*time.Second, "the private channel told, and the secret bug announced", func(m []chat.Outgoing) bool {
		return withText(systemLines(m, privKey), out[hidden]) == 1 &&
			count(m, fmt.Sprintf("announce/%d/%s", secret, privKey)) == 1 && count(m, fmt.Sprintf("announce/%d/%s", secret, pubKey)) == 1
	})
	waitUntil(t, 10*time.Second, "the outage over", func() bool {
		_, _, ok, _ := w.st.Outage(context.Background())
		return !ok
	})
	if got := announcementIn(t, w.rec, secret, pubKey); !strings.Contains(got, "details withheld") || strings.Contains(got, "filedwhilerefused") {
		t.Errorf("the restricted bug filed during the outage, in public: %q", got)
	}
	if got := announcementIn(t, w.rec, secret, privKey); !strings.Contains(got, "filedwhilerefused") {
		t.Errorf("the restricted bug filed during the outage, in private: %q", got)
	}
	w.checkOutOfSight(since, out, kept, public)
}

// TestStalePublicReplyReadsAgain: a public reply about one bug (!bug, a
// link preview) whose mirror copy was not confirmed within the reconcile
// interval reads the bug again first (one GET), so it cannot show a bug
// restricted since; a copy confirmed within the interval, and replies in
// the private channel, cost no read.
func TestStalePublicReplyReadsAgain(t *testing.T) {
	w := newSightWorld(t, time.Hour) // no reconciliation during the test
	id := w.file("laterembargoed")
	gets := func() int { return methodCount(w.h.srv.Requests(), "GET", fmt.Sprintf("/rest/bug/%d", id)) }
	g0 := gets()
	if got := w.ask(1, fmt.Sprintf("!bug %d", id)); !strings.Contains(got, "laterembargoed") || gets() != g0 {
		t.Errorf("a fresh copy: %q with %d reads, want the details and no read", got, gets()-g0)
	}

	w.clock.Advance(2 * time.Hour) // the mirror's copy is older than the interval now
	w.h.srv.UpdateBug(id, func(b *bugzillatest.Bug) { b.Groups = []string{"kernel-embargo"} })
	if got := w.ask(0, fmt.Sprintf("!bug %d", id)); !strings.Contains(got, "laterembargoed") || gets() != g0 {
		t.Errorf("private channel: %q with %d reads, want the mirror's details and no read", got, gets()-g0)
	}
	for i, q := range []string{fmt.Sprintf("!bug %d", id), fmt.Sprintf("see bug %d", id)} {
		got := w.ask(1, q)
		if strings.Contains(got, "laterembargoed") || !strings.Contains(got, "details withheld") {
			t.Errorf("public %q after the restriction = %q, want it withheld", q, got)
		}
		if n := gets() - g0; n != i+1 {
			t.Errorf("public %q: %d reads of the bug so far, want %d (one per stale reply)", q, n, i+1)
		}
	}
}

// TestFreshDatabaseDuringKeyOutage: the first start, on an empty
// database, happens while Bugzilla refuses the key, so the baseline sees
// only public bugs. When the key works, the open bugs are read again with
// it and stored as that baseline would have: the restricted bug filed
// within catch_up is announced (withheld in public), the older restricted
// one is mirrored silently (and shows in !pending), the public one is not
// announced twice.
func TestFreshDatabaseDuringKeyOutage(t *testing.T) {
	h := newHarness(t, "")
	botInSecurityGroup(h)
	h.keyRetry = 100 * time.Millisecond
	h.srv.SetAPIKey("ksecbot@gentoo.org", "key-rotated")
	recent := h.srv.CreateBug(bugzillatest.NewBug{Summary: "sys-kernel/gentoo-sources: restricted, filed 2 h ago", Groups: []string{"security"}, Created: time.Now().Add(-2 * time.Hour)})
	old := h.srv.CreateBug(bugzillatest.NewBug{Summary: "sys-kernel/gentoo-sources: restricted, filed 3 days ago", Groups: []string{"security"}, Created: time.Now().Add(-72 * time.Hour)})
	public := h.srv.CreateBug(bugzillatest.NewBug{Summary: "sys-kernel/gentoo-sources: public, filed 2 h ago", Created: time.Now().Add(-2 * time.Hour)})
	rec := newRecorder("test", "#gentoo-security", "#gentoo-kernel")
	b, st, _ := h.startAt(nil, rec)
	announcementIn(t, rec, public, pubKey)
	if n := count(rec.sentCopy(), fmt.Sprintf("announce/%d/%s", recent, pubKey)); n != 0 {
		t.Fatalf("a restricted bug announced while the key is refused")
	}

	h.srv.SetAPIKey("ksecbot@gentoo.org", "key-ksecbot")
	if got := announcementIn(t, rec, recent, pubKey); !strings.Contains(got, "details withheld") {
		t.Errorf("the recent restricted bug in public: %q", got)
	}
	if got := announcementIn(t, rec, recent, privKey); !strings.Contains(got, "restricted, filed 2 h ago") {
		t.Errorf("the recent restricted bug in private: %q", got)
	}
	waitUntil(t, 10*time.Second, "the outage over", func() bool {
		_, _, ok, _ := st.Outage(context.Background())
		return !ok
	})
	b.Intake.Watcher().PokeReconcile()
	waitDelivered(t, st)
	for _, m := range rec.sentCopy() {
		if slices.Contains(m.BugIDs, old) && m.Kind == chat.KindAnnounce {
			t.Errorf("the old restricted bug was announced: %q", m.Plain("irc"))
		}
	}
	if n := count(rec.sentCopy(), fmt.Sprintf("announce/%d/%s", public, pubKey)); n != 1 {
		t.Errorf("the public bug announced %d times, want once", n)
	}
	if got := ask(t, b.Live.Router(), rec.channels[0], chat.Identity{Network: "test", Nick: "watcher"}, "!pending"); !strings.Contains(got, fmt.Sprintf("Bug %d ", old)) {
		t.Errorf("!pending in private omits the old restricted bug read after the outage: %q", got)
	}
}
