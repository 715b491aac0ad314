// SPDX-License-Identifier: GPL-3.0-or-later

package matrix_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ksecbot/ksecbot/bugzilla/bugzillatest"
	"github.com/ksecbot/ksecbot/e2e/e2etest"
	"github.com/ksecbot/ksecbot/internal/mxtest"
)

// world is one ksecbot deployment: a Bugzilla, a bot account, an observer
// (a linked maintainer) and the rooms the bot is configured for.
type world struct {
	hs         mxtest.Server
	bz         *bugzillatest.Server
	dir        string
	bot        mxtest.User
	botID      id.UserID
	obsID      id.UserID
	obs        *mxtest.Observer
	plain, enc id.RoomID
	kernelMX   []string
	hardenedMX []string
	cfgPath    string
}

// newWorld registers fresh users, creates the rooms and writes the bot's
// configuration; it does not start the bot. Maintainers, when given, are
// the Matrix maintainers of both trees instead of unregistered IDs.
func newWorld(ctx context.Context, t *testing.T, hs mxtest.Server, digestAfter int, maintainers ...id.UserID) *world {
	t.Helper()
	bz := bugzillatest.New()
	t.Cleanup(bz.Close)
	w := &world{hs: hs, bz: bz, dir: t.TempDir()}
	w.bot = hs.NewUser(ctx, t, "ksecbot-")
	w.botID = w.bot.ID
	w.obs = hs.Observe(ctx, t, hs.NewUser(ctx, t, "observer-"))
	w.obsID = w.obs.User.ID
	w.plain = w.obs.CreateRoom(ctx, t, mxtest.RoomSpec{Name: "ksecbot e2e plain", Public: true, Invite: []id.UserID{w.botID}})
	w.enc = w.obs.CreateRoom(ctx, t, mxtest.RoomSpec{Name: "ksecbot e2e encrypted", Encrypted: true, Invite: []id.UserID{w.botID}})
	// Maintainers need not be registered: mentions are user IDs.
	w.kernelMX = []string{string(id.NewUserID(mxtest.RandName("kernel-a-"), "localhost")), string(id.NewUserID(mxtest.RandName("kernel-b-"), "localhost"))}
	w.hardenedMX = []string{string(id.NewUserID(mxtest.RandName("hardened-"), "localhost"))}
	if len(maintainers) > 0 {
		w.kernelMX, w.hardenedMX = nil, nil
		for _, m := range maintainers {
			w.kernelMX = append(w.kernelMX, string(m))
		}
		w.hardenedMX = slices.Clone(w.kernelMX)
	}
	slices.Sort(w.kernelMX)
	w.cfgPath = botConfig{
		BugzillaURL: bz.URL(),
		Homeserver:  hs.URL,
		Bot:         w.bot,
		Rooms:       []id.RoomID{w.plain, w.enc},
		KernelMX:    w.kernelMX,
		HardenedMX:  w.hardenedMX,
		Linked:      w.obsID,
		LinkedLogin: "bob@gentoo.org",
		DigestAfter: digestAfter,
	}.write(t, w.dir)
	t.Logf("world: bot %s, observer %s (linked to bob@gentoo.org), plain room %s, encrypted room %s, bugzilla %s",
		w.botID, w.obsID, w.plain, w.enc, bz.URL())
	return w
}

// start runs the bot and waits until it has joined both rooms.
func (w *world) start(t *testing.T, name string) *e2etest.Proc {
	t.Helper()
	k := startBot(t, w.cfgPath, name, w.bot.Password, "key-ksecbot")
	w.obs.WaitJoined(t, w.plain, w.botID)
	w.obs.WaitJoined(t, w.enc, w.botID)
	return k
}

// TestAnnounceCommandsRestart covers the Matrix side of announcing and
// acting from chat: announcements in a plain and an encrypted room with
// mentions, !pending, !whoami, !claim as a reply, !cc, a refusal for an
// unlinked user, then a SIGKILL and restart without repeats.
func TestAnnounceCommandsRestart(t *testing.T) {
	t.Parallel()
	hs := mxtest.Shared(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	w := newWorld(ctx, t, hs, 0)
	k := w.start(t, "ksecbot#1")
	t.Logf("ksecbot joined the plain and the encrypted room")

	// 1. A new bug that names gentoo-sources only.
	bug1 := w.bz.CreateBug(bugzillatest.NewBug{
		Summary:    "CVE-2026-0001: sys-kernel/gentoo-sources: use-after-free in net/sched",
		Whiteboard: "B2 [linux]",
		Severity:   "major",
	})
	var ann1Enc *event.Event
	for _, room := range []id.RoomID{w.plain, w.enc} {
		e := w.obs.WaitMsg(t, fmt.Sprintf("the announcement of bug %d in %s", bug1, room), isAnnouncement(room, bug1))
		if room == w.enc {
			ann1Enc = e
			if !e.Mautrix.WasEncrypted {
				t.Errorf("announcement in the encrypted room was not encrypted")
			}
		} else {
			if e.Mautrix.WasEncrypted {
				t.Errorf("announcement in the plain room was encrypted")
			}
		}
		if got := mentions(e); !slices.Equal(got, w.kernelMX) {
			t.Errorf("%s: m.mentions = %v, want only the gentoo-sources maintainers %v", room, got, w.kernelMX)
		}
		if m := e.Content.AsMessage(); m.MsgType != event.MsgText || !strings.Contains(m.FormattedBody, "https://matrix.to/#/"+w.kernelMX[0]) {
			t.Errorf("%s: announcement is %s with formatted body %q, want an m.text with pills", room, m.MsgType, m.FormattedBody)
		}
		t.Logf("%s: announcement %q (encrypted=%v) mentions %v", room, body(e), e.Mautrix.WasEncrypted, mentions(e))
	}

	// 2. Read commands answer in the room, as replies.
	ask := w.obs.Say(ctx, t, w.enc, "!pending", nil)
	r := w.obs.ReplyTo(t, w.enc, ask)
	if !strings.Contains(body(r), "CVE-2026-0001") || !strings.Contains(body(r), fmt.Sprint(bug1)) {
		t.Errorf("!pending reply %q does not list bug %d", body(r), bug1)
	}
	t.Logf("!pending (encrypted room, decrypted=%v): %q", r.Mautrix.WasEncrypted, body(r))
	ask = w.obs.Say(ctx, t, w.enc, "!whoami", nil)
	r = w.obs.ReplyTo(t, w.enc, ask)
	if !strings.Contains(body(r), "login bob;") || strings.Contains(body(r), "bob@gentoo.org") {
		t.Errorf("!whoami reply %q does not name the linked login as bob (no e-mail address in a public room)", body(r))
	}
	t.Logf("!whoami: %q", body(r))

	// An unlinked user is refused politely and nothing changes in Bugzilla.
	before := stateOf(t, w.bz, bug1)
	strUser := hs.NewUser(ctx, t, "stranger-")
	strID := strUser.ID
	stranger := hs.Login(ctx, t, strUser)
	if _, err := stranger.JoinRoomByID(ctx, w.plain); err != nil {
		t.Fatalf("stranger join: %v", err)
	}
	ask, err := mxtest.Send(ctx, stranger, w.plain, fmt.Sprintf("!claim %d", bug1), nil)
	if err != nil {
		t.Fatal(err)
	}
	r = w.obs.ReplyTo(t, w.plain, ask)
	if !strings.Contains(body(r), "not linked") || !strings.HasPrefix(body(r), "Sorry") {
		t.Errorf("unlinked !claim reply %q is not a polite refusal", body(r))
	}
	if after := stateOf(t, w.bz, bug1); after.assignee != before.assignee || len(after.comments) != len(before.comments) || !slices.Equal(after.cc, before.cc) {
		t.Errorf("unlinked !claim changed the bug: %+v -> %+v", before, after)
	}
	t.Logf("unlinked %s: %q; bug %d still assigned to %s with %d comments", strID, body(r), bug1, before.assignee, len(before.comments))

	// A Matrix reply "!claim" to the announcement claims that bug.
	claimAsk := w.obs.Say(ctx, t, w.enc, "!claim", ann1Enc)
	r = w.obs.ReplyTo(t, w.enc, claimAsk)
	st := stateOf(t, w.bz, bug1)
	if st.assignee != "bob@gentoo.org" {
		t.Errorf("after the reply !claim, bug %d is assigned to %q, want bob@gentoo.org (reply %q)", bug1, st.assignee, body(r))
	}
	if last := st.comments[len(st.comments)-1]; len(st.comments) != len(before.comments)+1 || !strings.Contains(last, string(w.obsID)) {
		t.Errorf("after !claim the comments are %q, want one new comment naming %s", st.comments, w.obsID)
	}
	t.Logf("reply !claim: %q; bugzilla: assigned to %s, comment %q", body(r), st.assignee, st.comments[len(st.comments)-1])

	// !cc hardened adds hardened@ and highlights the hardened maintainers.
	ccAsk := w.obs.Say(ctx, t, w.plain, fmt.Sprintf("!cc hardened %d", bug1), nil)
	r = w.obs.ReplyTo(t, w.plain, ccAsk)
	st = stateOf(t, w.bz, bug1)
	if !slices.Contains(st.cc, "hardened@gentoo.org") {
		t.Errorf("after !cc hardened, bug %d CC = %v, want hardened@gentoo.org in it (reply %q)", bug1, st.cc, body(r))
	}
	if got := mentions(r); !slices.Equal(got, w.hardenedMX) {
		t.Errorf("!cc reply mentions %v, want the hardened maintainers %v", got, w.hardenedMX)
	}
	t.Logf("!cc hardened: %q mentions %v; bugzilla CC %v", body(r), mentions(r), st.cc)

	// 3. Crash and restart.
	k.Kill()
	t.Logf("ksecbot killed with SIGKILL")
	k = w.start(t, "ksecbot#2")
	bug2 := w.bz.CreateBug(bugzillatest.NewBug{
		Summary:  "CVE-2026-0002: sys-kernel/hardened-sources: out-of-bounds write in io_uring",
		Severity: "critical",
	})
	e := w.obs.WaitMsg(t, fmt.Sprintf("the announcement of bug %d after the restart", bug2), isAnnouncement(w.enc, bug2))
	if !e.Mautrix.WasEncrypted {
		t.Errorf("announcement after the restart was not encrypted")
	}
	if got := mentions(e); !slices.Equal(got, w.hardenedMX) {
		t.Errorf("bug %d mentions %v, want only the hardened maintainers %v", bug2, got, w.hardenedMX)
	}
	t.Logf("after restart: %q decrypted in the encrypted room", body(e))
	w.obs.WaitMsg(t, "the announcement of bug 2 in the plain room", isAnnouncement(w.plain, bug2))
	// A command answered after the restart is the barrier: old commands
	// would have been run before it.
	ask = w.obs.Say(ctx, t, w.enc, "!whoami", nil)
	w.obs.ReplyTo(t, w.enc, ask)
	for _, room := range []id.RoomID{w.plain, w.enc} {
		for _, n := range []int{bug1, bug2} {
			if c := w.obs.Count(isAnnouncement(room, n)); c != 1 {
				t.Errorf("%s: bug %d announced %d times, want once", room, n, c)
			}
		}
	}
	for _, ev := range []struct {
		room id.RoomID
		ask  id.EventID
	}{{w.enc, claimAsk}, {w.plain, ccAsk}} {
		if c := w.obs.Count(isReplyTo(ev.room, ev.ask)); c != 1 {
			t.Errorf("command %s answered %d times, want once", ev.ask, c)
		}
	}
	if again := stateOf(t, w.bz, bug1); len(again.comments) != len(st.comments) || !slices.Equal(again.cc, st.cc) || again.assignee != st.assignee {
		t.Errorf("after the restart bug %d changed: %+v -> %+v", bug1, st, again)
	}
	t.Logf("after restart: each announcement once per room, the !claim and !cc answered once, bug %d still has %d comments", bug1, len(st.comments))
	stopBot(t, k)
}

// TestBurstDigest: more than digest_after new bugs at once give one digest
// event listing them, while an A1 bug of the same burst is announced alone.
func TestBurstDigest(t *testing.T) {
	t.Parallel()
	hs := mxtest.Shared(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	w := newWorld(ctx, t, hs, 3)
	w.start(t, "ksecbot")

	// Hold the bot's polls off while the burst is filed, so that it
	// arrives in one poll, as a burst does.
	w.bz.SetFault(bugzillatest.Fault{Mode: bugzillatest.Fault500, Path: "/rest/"})
	// The watcher searches one request at a time: once a search arrives
	// after the fault is set, no earlier search can still be reading the
	// bug list. Nothing signals that, so poll the server's counter.
	n0 := w.bz.SearchCount()
	deadline := time.Now().Add(wait)
	for w.bz.SearchCount() <= n0 {
		if time.Now().After(deadline) {
			t.Fatalf("ksecbot made no search within %s", wait)
		}
		time.Sleep(20 * time.Millisecond)
	}
	var normal []int
	for i := range 4 {
		normal = append(normal, w.bz.CreateBug(bugzillatest.NewBug{
			Summary:    fmt.Sprintf("CVE-2026-01%02d: sys-kernel/gentoo-sources: bug number %d of the burst", i, i),
			Whiteboard: "C4 [linux]",
		}))
	}
	urgent := w.bz.CreateBug(bugzillatest.NewBug{Summary: "CVE-2026-0199: remote root in the kernel TCP stack", Whiteboard: "A1 [linux]"})
	w.bz.ClearFault()

	for _, room := range []id.RoomID{w.plain, w.enc} {
		d := w.obs.WaitMsg(t, "the digest in "+string(room), func(e *event.Event) bool {
			return e.RoomID == room && strings.HasPrefix(body(e), "4 new kernel security bugs")
		})
		w.obs.WaitMsg(t, "the A1 announcement in "+string(room), isAnnouncement(room, urgent))
		m := d.Content.AsMessage()
		lines := strings.Split(m.Body, "\n")
		if len(lines) != 1+len(normal) {
			t.Errorf("%s: digest body has %d lines, want the digest line and %d bug lines:\n%s", room, len(lines), len(normal), m.Body)
		}
		if strings.Count(m.FormattedBody, "<li>") != len(normal) || !strings.Contains(m.FormattedBody, "<ul>") {
			t.Errorf("%s: digest HTML %q is not a list of %d bugs", room, m.FormattedBody, len(normal))
		}
		for _, n := range normal {
			if !strings.Contains(m.Body, fmt.Sprintf("- Bug %d", n)) {
				t.Errorf("%s: digest does not list bug %d:\n%s", room, n, m.Body)
			}
			if c := w.obs.Count(isAnnouncement(room, n)); c != 0 {
				t.Errorf("%s: bug %d was announced alone %d times besides the digest", room, n, c)
			}
		}
		if strings.Contains(m.Body, fmt.Sprintf("Bug %d", urgent)) {
			t.Errorf("%s: the A1 bug %d is in the digest", room, urgent)
		}
		if got := mentions(d); !slices.Equal(got, w.kernelMX) {
			t.Errorf("%s: digest mentions %v, want the gentoo-sources maintainers %v", room, got, w.kernelMX)
		}
		if room == w.enc && !d.Mautrix.WasEncrypted {
			t.Errorf("digest in the encrypted room was not encrypted")
		}
		t.Logf("%s: digest (encrypted=%v):\n%s", room, d.Mautrix.WasEncrypted, m.Body)
	}
	t.Logf("A1 bug %d announced on its own; no separate announcement for %v", urgent, normal)
}

// TestOutage stops a private Dendrite for 20 s while a bug arrives: the
// announcement is delivered exactly once when it comes back.
func TestOutage(t *testing.T) {
	t.Parallel()
	mxtest.Shared(t)
	d := mxtest.StartDendrite(t)
	hs := d.Server
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	w := newWorld(ctx, t, hs, 0)
	w.start(t, "ksecbot")

	d.Stop()
	t.Logf("dendrite stopped")
	bug1 := w.bz.CreateBug(bugzillatest.NewBug{Summary: "CVE-2026-0301: sys-kernel/gentoo-kernel: overflow in ext4"})
	// The outage itself lasts 20 s; this is the scenario, not a barrier.
	time.Sleep(20 * time.Second)
	d.Start(t)
	t.Logf("dendrite back after 20 s")

	for _, room := range []id.RoomID{w.plain, w.enc} {
		e := w.obs.WaitMsg(t, fmt.Sprintf("the announcement of bug %d in %s after the outage", bug1, room), isAnnouncement(room, bug1))
		t.Logf("%s: %q (encrypted=%v)", room, body(e), e.Mautrix.WasEncrypted)
	}
	// A later bug's announcement is the barrier for a late duplicate.
	bug2 := w.bz.CreateBug(bugzillatest.NewBug{Summary: "CVE-2026-0302: sys-kernel/gentoo-kernel: race in mm"})
	for _, room := range []id.RoomID{w.plain, w.enc} {
		w.obs.WaitMsg(t, fmt.Sprintf("the announcement of bug %d in %s", bug2, room), isAnnouncement(room, bug2))
		if c := w.obs.Count(isAnnouncement(room, bug1)); c != 1 {
			t.Errorf("%s: bug %d announced %d times after the outage, want exactly once", room, bug1, c)
		}
	}
	t.Logf("bug %d announced exactly once in each room after the outage", bug1)
}
