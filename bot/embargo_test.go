// SPDX-License-Identifier: GPL-3.0-or-later

package bot_test

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ksecbot/ksecbot/bugzilla/bugzillatest"
	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/internal/fakeclock"
)

// secretsOf are the words a public channel must never see of the
// restricted hardened bug in these tests: its summary, whiteboard, tree
// and its maintainers' nicks.
var secretsOf = []string{"use-after-free", "embargoed", "hardened", "blueness", "zorry", "[A1]"}

// botInSecurityGroup puts ksecbot's Bugzilla account in the embargo group
// (the operator's duty: otherwise it never sees restricted bugs).
func botInSecurityGroup(h *harness) {
	h.srv.AddUser(bugzillatest.User{Login: "ksecbot@gentoo.org", RealName: "ksecbot", Groups: []string{"editbugs", "security"},
		APIKey: "key-ksecbot", Password: "password-ksecbot"})
}

// announcementIn waits for the announcement of bug id in a channel and
// returns its plain IRC text.
func announcementIn(t *testing.T, rec *recorder, id int, channel string) string {
	t.Helper()
	key := fmt.Sprintf("announce/%d/%s", id, channel)
	msgs := rec.waitFor(t, 10*time.Second, key, func(m []chat.Outgoing) bool { return count(m, key) == 1 })
	for _, m := range msgs {
		if m.Key == key {
			return strings.Join(m.Plain("irc"), " ")
		}
	}
	return ""
}

// Outbox rows are intents rendered when sent: what was queued while the
// network was down goes out as the bug and the channel are when the
// network is back.
func TestEmbargoDecidedAtSendTime(t *testing.T) {
	tests := []struct {
		name string
		// filed restricted or public; then, while the network is down,
		// change happens.
		restricted bool
		change     func(h *harness, rec *recorder, id int)
		// what the public channel (#gentoo-dev) must get
		withheld bool
	}{
		{"restricted after queueing", false, func(h *harness, rec *recorder, id int) {
			h.srv.UpdateBug(id, func(b *bugzillatest.Bug) { b.Groups = []string{"security"} })
		}, true},
		{"made public after queueing", true, func(h *harness, rec *recorder, id int) {
			h.srv.UpdateBug(id, func(b *bugzillatest.Bug) { b.Groups = nil })
		}, false},
		{"private channel made public by a reload", true, func(h *harness, rec *recorder, id int) {
			rec.setPrivate("#gentoo-dev", false)
		}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, "")
			botInSecurityGroup(h)
			h.cfg.Announce.DigestAfter = 0
			rec := newRecorder("test", "#gentoo-security", "#gentoo-dev")
			if strings.Contains(tc.name, "reload") {
				rec.setPrivate("#gentoo-dev", true)
			}
			rec.setDown(true)
			clock := fakeclock.New(time.Now().UTC())
			b, st, _ := h.startAt(clock, rec)
			waitPolls(t, b, 1)
			nb := bugzillatest.NewBug{Summary: "sys-kernel/hardened-sources: use-after-free in net/sched", Whiteboard: "A1 [embargoed]"}
			if tc.restricted {
				nb.Groups = []string{"security"}
			}
			id := fileAndFetch(t, h, b, nb)[0]
			waitUntil(t, 5*time.Second, "the announcements in the outbox", func() bool {
				n, _ := st.OutboxDepth(context.Background(), nil)
				return n >= 2
			})
			// Bugzilla times have one-second precision: the change is a
			// minute later, as it would be in real life.
			clock.Set(clock.Now().Add(time.Minute))
			tc.change(h, rec, id)
			fileAndFetch(t, h, b) // the watcher reads the change
			waitUntil(t, 5*time.Second, "the change in the mirror", func() bool {
				bug, _, _ := st.Bug(context.Background(), id)
				want, _ := h.srv.Bug(id)
				return bug != nil && bug.Restricted() == (len(want.Groups) > 0)
			})
			rec.setDown(false)

			private := announcementIn(t, rec, id, "test:#gentoo-security")
			if !strings.Contains(private, "use-after-free") || !strings.Contains(private, "hardened: blueness zorry") {
				t.Errorf("private channel got %q, want the details and the hardened maintainers highlighted", private)
			}
			public := announcementIn(t, rec, id, "test:#gentoo-dev")
			if tc.withheld {
				want := fmt.Sprintf("New restricted kernel security bug %d, details withheld https://bugs.gentoo.org/show_bug.cgi?id=%d", id, id)
				if public != want {
					t.Errorf("public channel got %q, want %q", public, want)
				}
			} else if !strings.Contains(public, "use-after-free") || !strings.Contains(public, "hardened: blueness zorry") {
				t.Errorf("public channel got %q, want the bug in full now that it is public", public)
			}
			waitDelivered(t, st)
			for _, m := range rec.sentCopy() {
				if m.Channel != "test:#gentoo-dev" || !tc.withheld {
					continue
				}
				line := strings.Join(m.Plain("irc"), " ")
				for _, s := range secretsOf {
					if strings.Contains(line, s) {
						t.Errorf("public line %q contains %q", line, s)
					}
				}
			}
		})
	}
}

// reloadMidRound is a recorder on which a reload makes a private channel
// public right after the first message of a delivery round went out.
type reloadMidRound struct {
	*recorder
	channel string
	once    sync.Once
}

func (r *reloadMidRound) Send(ctx context.Context, out chat.Outgoing) (string, error) {
	id, err := r.recorder.Send(ctx, out)
	if err == nil {
		r.once.Do(func() { r.setPrivate(r.channel, false) })
	}
	return id, err
}

// A reload that makes a private channel public while the deliverer is
// sending a backlog: the messages not yet sent are rendered for the
// channel as it is now (withheld), not as it was when the round began.
func TestEmbargoReloadDuringDeliveryRound(t *testing.T) {
	h := newHarness(t, "")
	botInSecurityGroup(h)
	h.cfg.Announce.DigestAfter = 0
	rec := &reloadMidRound{recorder: newRecorder("test", "#gentoo-security", "#gentoo-dev"), channel: "#gentoo-dev"}
	rec.setPrivate("#gentoo-dev", true)
	rec.setDown(true)
	clock := fakeclock.New(time.Now().UTC())
	b, st, _ := h.startAt(clock, rec)
	waitPolls(t, b, 1)
	nb := bugzillatest.NewBug{Summary: "sys-kernel/hardened-sources: use-after-free in net/sched", Whiteboard: "A1 [embargoed]", Groups: []string{"security"}}
	ids := fileAndFetch(t, h, b, nb, nb)
	waitUntil(t, 5*time.Second, "both announcements for both channels in the outbox", func() bool {
		n, _ := st.OutboxDepth(context.Background(), nil)
		return n >= 4
	})
	rec.setDown(false) // one round sends the backlog; the reload comes after its first message
	waitDelivered(t, st)
	for _, id := range ids {
		public := announcementIn(t, rec.recorder, id, "test:#gentoo-dev")
		for _, s := range secretsOf {
			if strings.Contains(public, s) {
				t.Errorf("#gentoo-dev, public since a reload during the delivery round, got %q, which contains %q", public, s)
			}
		}
	}
}

// [store] retention: after it, sent messages and processed events (which
// hold bug details) are pruned from the database, and a restart on it
// announces nothing again.
func TestRetentionPrunesWithoutRepeats(t *testing.T) {
	h := newHarness(t, "")
	h.cfg.Bugzilla.PollInterval.Duration = time.Hour
	h.cfg.Announce.RemindAfter.Duration = 0
	clock := fakeclock.New(time.Date(2026, 11, 27, 4, 0, 0, 0, time.UTC))
	rec := newRecorder("test", "#gentoo-kernel")
	b, st, stop := h.startAt(clock, rec)
	waitPolls(t, b, 1)
	id := fileAndFetch(t, h, b, bugzillatest.NewBug{Summary: "sys-kernel/gentoo-sources: details to forget"})[0]
	key := fmt.Sprintf("announce/%d/test:#gentoo-kernel", id)
	rec.waitFor(t, 5*time.Second, "the announcement", func(m []chat.Outgoing) bool { return count(m, key) == 1 })
	waitDelivered(t, st)

	rows := func(q string) int {
		t.Helper()
		db, err := sql.Open("sqlite3", "file:"+h.dbPath+"?mode=ro")
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var n int
		if err := db.QueryRow(q).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	counts := func() (outbox, events int) {
		return rows("SELECT COUNT(*) FROM outbox"), rows("SELECT COUNT(*) FROM events")
	}
	if o, e := counts(); o == 0 || e == 0 {
		t.Fatalf("before: %d outbox rows, %d events; want some", o, e)
	}
	clock.Set(clock.Now().Add(89 * 24 * time.Hour))
	b.Retention.Prune(context.Background())
	if o, e := counts(); o == 0 || e == 0 {
		t.Errorf("after 89 days: %d outbox rows, %d events; want them kept (retention 90d)", o, e)
	}
	clock.Set(clock.Now().Add(2 * 24 * time.Hour))
	b.Retention.Prune(context.Background())
	if o, e := counts(); o != 0 || e != 0 {
		t.Errorf("after 91 days: %d outbox rows, %d events; want none", o, e)
	}
	stop()

	// A restart on the pruned database announces nothing again, and the
	// bug still has its announcement (for reminders and statistics).
	b2, st2, _ := h.startAt(clock, rec)
	fileAndFetch(t, h, b2)
	waitDelivered(t, st2)
	if n := count(rec.sentCopy(), key); n != 1 {
		t.Errorf("bug %d announced %d times after pruning and a restart, want 1", id, n)
	}
	if chans, err := st2.AnnouncedChannels(context.Background(), id); err != nil || len(chans) != 1 {
		t.Errorf("AnnouncedChannels = %v %v, want the channel kept", chans, err)
	}
}
