// SPDX-License-Identifier: GPL-3.0-or-later

package bot_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ksecbot/ksecbot/bugzilla/bugzillatest"
	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/internal/fakeclock"
)

// TestFutureStampedBugBlindsNothing: a bug whose last_change_time lies 24 h
// ahead of Bugzilla's clock (a bad row, or the clock stepped back) is
// announced, logged once, and the bugs filed after it are announced by the
// next poll, after a restart, and through a push.
func TestFutureStampedBugBlindsNothing(t *testing.T) {
	h := newHarness(t, "")
	h.cfg.Bugzilla.PollInterval.Duration = time.Hour // polls only when poked
	h.cfg.HTTP.WebhookSecret = webhookSecret
	var logs syncBuffer
	h.infoLog = &logs
	clock := fakeclock.New(time.Date(2026, 11, 27, 4, 0, 0, 0, time.UTC))
	rec := newRecorder("test", "#gentoo-kernel")
	b, _, stop := h.startAt(clock, rec)
	waitPolls(t, b, 1)
	announced := func(what string, id int) {
		t.Helper()
		rec.waitFor(t, 10*time.Second, what, func(m []chat.Outgoing) bool {
			return count(m, fmt.Sprintf("announce/%d/test:#gentoo-kernel", id)) == 1
		})
	}

	clock.Advance(time.Minute)
	odd := h.srv.CreateBug(bugzillatest.NewBug{Summary: "sys-kernel/gentoo-sources: stamped a day ahead"})
	h.srv.UpdateBugAt(odd, clock.Now().Add(24*time.Hour), func(bg *bugzillatest.Bug) { bg.Whiteboard = "B2" })
	fileAndFetch(t, h, b)
	announced("the future-stamped bug", odd)
	for i := range 2 {
		clock.Advance(time.Minute)
		id := fileAndFetch(t, h, b, bugzillatest.NewBug{Summary: fmt.Sprintf("sys-kernel/gentoo-sources: filed after it, %d", i)})[0]
		announced("a bug filed after it, by polling", id)
	}
	if n := strings.Count(logs.String(), "changed in the future"); n != 1 {
		t.Errorf("the future stamp was logged %d times over three polls, want once", n)
	}

	stop()
	clock.Advance(time.Minute)
	b, _, _ = h.startAt(clock, rec)
	waitPolls(t, b, 1)
	clock.Advance(time.Minute)
	id := fileAndFetch(t, h, b, bugzillatest.NewBug{Summary: "sys-kernel/gentoo-sources: filed after a restart"})[0]
	announced("a bug filed after the restart", id)

	hs := httptest.NewServer(b.HTTP.Handler())
	t.Cleanup(hs.Close)
	clock.Advance(time.Minute)
	pushed := h.srv.CreateBug(bugzillatest.NewBug{Summary: "sys-kernel/gentoo-sources: pushed"})
	if code, msg := postWebhook(t, hs.URL, hdr("X-Ksecbot-Secret", webhookSecret), fmt.Sprintf(`{"bug":{"id":%d}}`, pushed)); code != http.StatusAccepted {
		t.Fatalf("push: %d %q", code, msg)
	}
	announced("a pushed bug", pushed)
	for _, m := range rec.sentCopy() {
		if m.Kind == chat.KindAnnounce && strings.Contains(strings.Join(m.Plain("irc"), " "), "moved into") {
			t.Errorf("a new bug was announced as moved in: %q", m.Plain("irc"))
		}
	}
}

// TestBrieflyRefusedKeyBackWithinSeconds: Bugzilla refuses the API key for
// 20 s; the key is tried again 2 s after the refusal and then twice as
// long each time, so it is usable again (writes: the auto-CC that waited)
// seconds after it works, not at a fixed 5-minute retry.
func TestBrieflyRefusedKeyBackWithinSeconds(t *testing.T) {
	if testing.Short() {
		t.Skip("holds a refusal for 20 s")
	}
	h := newHarness(t, "")
	h.cfg.Bugzilla.PollInterval.Duration = time.Hour // polls only when poked
	rec := newRecorder("test", "#gentoo-security", "#gentoo-kernel")
	b, _ := h.start(rec) // the default retry schedule
	waitPolls(t, b, 1)
	settle(t, h)

	probes0 := methodCount(h.srv.Requests(), "GET", "/rest/whoami")
	h.srv.SetAPIKey("ksecbot@gentoo.org", "key-rotated")
	refusedAt := time.Now()
	id := fileAndFetch(t, h, b, bugzillatest.NewBug{Summary: "sys-kernel/hardened-sources: filed while the key is refused"})[0]
	refused := func() bool {
		return slices.ContainsFunc(b.Intake.Problems(), func(p string) bool { return strings.Contains(p, "API key refused") })
	}
	waitUntil(t, 5*time.Second, "the refusal noticed", refused)
	for time.Since(refusedAt) < 20*time.Second { // the refusal lasts 20 s
		time.Sleep(time.Until(refusedAt.Add(20 * time.Second)))
	}
	probes := methodCount(h.srv.Requests(), "GET", "/rest/whoami") - probes0
	if n := methodCount(h.srv.Requests(), "PUT", "/rest/bug"); n != 0 {
		t.Errorf("%d writes while the key was refused", n)
	}
	h.srv.SetAPIKey("ksecbot@gentoo.org", "key-ksecbot")
	back := time.Now()
	waitUntil(t, 45*time.Second, "the key usable again (the waiting auto-CC written)", func() bool {
		bug, _ := h.srv.Bug(id)
		return slices.Contains(bug.CC, "hardened@gentoo.org") && !refused()
	})
	t.Logf("the key was tried %d times during the 20 s refusal; usable again %s after it worked", probes, time.Since(back).Round(100*time.Millisecond))
	if probes < 3 {
		t.Errorf("the key was tried %d times during a 20 s refusal, want at least 3 (2 s, then doubling)", probes)
	}
}
