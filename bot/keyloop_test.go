// SPDX-License-Identifier: GPL-3.0-or-later

package bot_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ksecbot/ksecbot/bugzilla/bugzillatest"
	"github.com/ksecbot/ksecbot/chat"
)

func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// systemLines returns the system messages sent to a channel.
func systemLines(msgs []chat.Outgoing, channel string) []string {
	var out []string
	for _, m := range msgs {
		if m.Kind == chat.KindSystem && m.Channel == channel {
			out = append(out, strings.Join(m.Plain("irc"), " "))
		}
	}
	return out
}

func withText(lines []string, s string) int {
	n := 0
	for _, l := range lines {
		if strings.Contains(l, s) {
			n++
		}
	}
	return n
}

// methodCount counts requests by method and path prefix.
func methodCount(reqs []bugzillatest.Request, method, pathPrefix string) int {
	n := 0
	for _, r := range reqs {
		if r.Method == method && strings.HasPrefix(r.Path, pathPrefix) {
			n++
		}
	}
	return n
}

// TestRefusedKeyDegradesAndRecovers: Bugzilla refuses the bot's API key
// (revoked: 306). Polling goes on anonymously and a new public bug is
// announced; the private channel is told once, /healthz says degraded
// (still 200) and /metrics shows it; auto-CC waits and a write command is
// refused. The key is retried; once Bugzilla accepts it again, the
// recovery is said once, the waiting auto-CC happens and /healthz is clean.
func TestRefusedKeyDegradesAndRecovers(t *testing.T) {
	h := newHarness(t, "")
	h.keyRetry = 100 * time.Millisecond
	h.srv.SetAPIKey("ksecbot@gentoo.org", "key-rotated") // the configured key-ksecbot is now invalid
	rec := newRecorder("test", "#gentoo-security", "#gentoo-kernel")
	b, _ := h.start(rec)
	hs := httptest.NewServer(b.HTTP.Handler())
	t.Cleanup(hs.Close)
	waitPolls(t, b, 1)

	id := h.srv.CreateBug(bugzillatest.NewBug{Summary: "sys-kernel/hardened-sources: filed while the key is refused"})
	rec.waitFor(t, 10*time.Second, "the announcement made by anonymous polling", func(m []chat.Outgoing) bool {
		return count(m, fmt.Sprintf("announce/%d/test:#gentoo-kernel", id)) == 1
	})
	rec.waitFor(t, 10*time.Second, "the read-only notice in the private channel", func(m []chat.Outgoing) bool {
		return withText(systemLines(m, "test:#gentoo-security"), "read-only") == 1
	})
	code, body := httpGet(t, hs.URL+"/healthz")
	if code != http.StatusOK || !strings.Contains(body, "degraded: bugzilla: API key refused") || strings.Contains(body, "key-ksecbot") {
		t.Errorf("/healthz = %d %q, want 200 and degraded: bugzilla: API key refused (without the key)", code, body)
	}
	if _, m := httpGet(t, hs.URL+"/metrics"); !strings.Contains(m, "ksecbot_bugzilla_key_refused 1") {
		t.Errorf("/metrics lacks ksecbot_bugzilla_key_refused 1")
	}
	// The key is retried several times meanwhile; the notice stays single.
	probes := func() int { return methodCount(h.srv.Requests(), "GET", "/rest/whoami") }
	p0 := probes()
	waitUntil(t, 10*time.Second, "three key retries", func() bool { return probes() >= p0+3 })
	if n := methodCount(h.srv.Requests(), "PUT", "/rest/bug"); n != 0 {
		t.Errorf("%d writes while the key is refused", n)
	}
	sent := rec.sentCopy()
	if got := systemLines(sent, "test:#gentoo-security"); len(got) != 1 {
		t.Errorf("private channel got %d system lines, want the read-only notice once: %q", len(got), got)
	}
	if got := systemLines(sent, "test:#gentoo-kernel"); len(got) != 0 {
		t.Errorf("public channel got system lines %q", got)
	}
	// The operator fixes the key.
	h.srv.SetAPIKey("ksecbot@gentoo.org", "key-ksecbot")
	rec.waitFor(t, 10*time.Second, "the recovery notice", func(m []chat.Outgoing) bool {
		return withText(systemLines(m, "test:#gentoo-security"), "write again") == 1
	})
	waitUntil(t, 10*time.Second, "the waiting auto-CC", func() bool {
		bug, _ := h.srv.Bug(id)
		return slices.Contains(bug.CC, "hardened@gentoo.org")
	})
	waitUntil(t, 10*time.Second, "a clean /healthz", func() bool {
		code, body := httpGet(t, hs.URL+"/healthz")
		return code == http.StatusOK && !strings.Contains(body, "degraded: bugzilla")
	})
	if _, m := httpGet(t, hs.URL+"/metrics"); !strings.Contains(m, "ksecbot_bugzilla_key_refused 0") {
		t.Errorf("/metrics lacks ksecbot_bugzilla_key_refused 0 after recovery")
	}
	if got := systemLines(rec.sentCopy(), "test:#gentoo-security"); len(got) != 2 {
		t.Errorf("private channel system lines %q, want exactly the notice and the recovery", got)
	}

	// Revoked again while running: a poll meets the refusal, goes on
	// anonymously, and the channel is told again (a new episode).
	h.srv.SetAPIKey("ksecbot@gentoo.org", "key-rotated-again")
	again := h.srv.CreateBug(bugzillatest.NewBug{Summary: "sys-kernel/gentoo-sources: filed after the second revocation"})
	rec.waitFor(t, 10*time.Second, "the announcement after the second revocation", func(m []chat.Outgoing) bool {
		return count(m, fmt.Sprintf("announce/%d/test:#gentoo-kernel", again)) == 1
	})
	rec.waitFor(t, 10*time.Second, "the second read-only notice", func(m []chat.Outgoing) bool {
		return withText(systemLines(m, "test:#gentoo-security"), "read-only") == 2
	})
}

// TestUnreachableBugzillaIsDegraded: while polls fail, /healthz says
// degraded (200); after recovery it is clean.
func TestUnreachableBugzillaIsDegraded(t *testing.T) {
	h := newHarness(t, "")
	rec := newRecorder("test", "#gentoo-kernel")
	b, _ := h.start(rec)
	hs := httptest.NewServer(b.HTTP.Handler())
	t.Cleanup(hs.Close)
	waitPolls(t, b, 1)
	h.srv.SetFault(bugzillatest.Fault{Mode: bugzillatest.Fault500, Path: "/rest/bug"})
	waitUntil(t, 20*time.Second, "a failed poll", func() bool { return b.Intake.Watcher().Stats().ConsecutiveFailures > 0 })
	code, body := httpGet(t, hs.URL+"/healthz")
	if code != http.StatusOK || !strings.Contains(body, "degraded: bugzilla: unreachable") {
		t.Errorf("/healthz = %d %q, want 200 with degraded: bugzilla: unreachable", code, body)
	}
	if _, m := httpGet(t, hs.URL+"/metrics"); !strings.Contains(m, "ksecbot_bugzilla_up 0") {
		t.Errorf("/metrics lacks ksecbot_bugzilla_up 0")
	}
	h.srv.ClearFault()
	waitUntil(t, 30*time.Second, "a clean /healthz", func() bool {
		code, body := httpGet(t, hs.URL+"/healthz")
		return code == http.StatusOK && !strings.Contains(body, "degraded: bugzilla")
	})
}

// TestDefaultAssigneeRefreshed: the component's default assignee is read
// at every start (even when one is stored) and again periodically.
func TestDefaultAssigneeRefreshed(t *testing.T) {
	h := newHarness(t, "")
	h.defaultsRefresh = time.Hour
	rec := newRecorder("test", "#gentoo-kernel")
	_, st, stop := h.startAt(nil, rec)
	def := func() string {
		a, _, _ := st.ComponentDefault(context.Background(), "Gentoo Security/Kernel")
		return a
	}
	waitUntil(t, 10*time.Second, "the default assignee", func() bool { return def() == "security@gentoo.org" })
	stop()

	h.srv.AddComponent("Gentoo Security", "Kernel", "kernel@gentoo.org", []string{"kernel@gentoo.org"})
	h.defaultsRefresh = 100 * time.Millisecond
	_, st, _ = h.startAt(nil, rec)
	waitUntil(t, 10*time.Second, "the new default read at start", func() bool { return def() == "kernel@gentoo.org" })
	h.srv.AddComponent("Gentoo Security", "Kernel", "hardened@gentoo.org", nil)
	waitUntil(t, 10*time.Second, "the periodic refresh", func() bool { return def() == "hardened@gentoo.org" })
}

// settle waits until the bot's start-up requests (key check, component
// defaults, baseline) are done, so that later requests can be counted.
func settle(t *testing.T, h *harness) {
	t.Helper()
	waitUntil(t, 10*time.Second, "the start-up requests", func() bool {
		reqs := h.srv.Requests()
		keyProbe := false
		for _, r := range reqs {
			if r.Method == "GET" && r.Path == "/rest/bug" && r.Query.Get("id") == "1" && r.Query.Get("include_fields") == "id" {
				keyProbe = true
			}
		}
		return keyProbe && methodCount(reqs, "GET", "/rest/product") > 0 && methodCount(reqs, "GET", "/rest/time") > 0
	})
	if h.cfg.Bugzilla.ReconcileInterval.Duration > 0 {
		waitUntil(t, 10*time.Second, "the reconciliation at start", func() bool { return h.bot.Intake.Watcher().ReconcileStats().Runs > 0 })
	}
}

// freshReads counts auto-CC's fresh reads among reqs: searches by id for
// the fields it decides from.
func freshReads(reqs []bugzillatest.Request) int {
	n := 0
	for _, r := range reqs {
		if r.Method == "GET" && r.Path == "/rest/bug" && r.Query.Get("id") != "" && r.Query.Get("include_fields") == "id,groups,status,resolution,product,component,cc" {
			n++
		}
	}
	return n
}

// TestNewBugRequestCost: on the poll path a new bug costs the search that
// finds it, one read by id of what auto-CC decides from (groups, status,
// product, component, CC: Bugzilla's state right before the write) and
// one PUT; no other read. Bugs found together share the read, and one PUT
// when their CC additions are equal.
func TestNewBugRequestCost(t *testing.T) {
	h := newHarness(t, "")
	h.cfg.Bugzilla.PollInterval.Duration = time.Hour // polls only when poked
	h.srv.CreateBug(bugzillatest.NewBug{Summary: "bug 1, for the key check", Created: time.Now().Add(-72 * time.Hour)})
	rec := newRecorder("test", "#gentoo-kernel")
	b, st, _ := h.startAt(nil, rec)
	waitPolls(t, b, 1)
	settle(t, h)

	before := len(h.srv.Requests())
	id := h.srv.CreateBug(bugzillatest.NewBug{Summary: "sys-kernel/hardened-sources: one new bug"})
	b.Intake.Watcher().Poke()
	waitUntil(t, 10*time.Second, "auto-CC of the new bug", func() bool {
		bug, _ := h.srv.Bug(id)
		return slices.Contains(bug.CC, "hardened@gentoo.org")
	})
	rec.waitFor(t, 10*time.Second, "the announcement", func(m []chat.Outgoing) bool {
		return count(m, fmt.Sprintf("announce/%d/test:#gentoo-kernel", id)) == 1
	})
	reqs := h.srv.Requests()[before:]
	if s, f, p := methodCount(reqs, "GET", "/rest/bug"), freshReads(reqs), methodCount(reqs, "PUT", "/rest/bug"); len(reqs) != 3 || s != 2 || f != 1 || p != 1 {
		t.Errorf("a new bug cost %d requests (%d GET /rest/bug..., %d of them auto-CC's read, %d PUT): %v; want 1 search + 1 read by id + 1 PUT", len(reqs), s, f, p, reqs)
	}
	// The mirror is updated from the PUT's answer after Bugzilla has the
	// CC: wait for it (the request count above already excludes a read).
	waitUntil(t, 10*time.Second, "the mirror updated from the PUT answer", func() bool {
		m, _, _ := st.Bug(context.Background(), id)
		return m != nil && slices.Contains(m.CC, "hardened@gentoo.org")
	})

	// Two bugs found by one poll, same CC additions: one PUT with ids.
	before = len(h.srv.Requests())
	a := h.srv.CreateBug(bugzillatest.NewBug{Summary: "sys-kernel/hardened-sources: first of two"})
	c := h.srv.CreateBug(bugzillatest.NewBug{Summary: "sys-kernel/hardened-sources: second of two"})
	b.Intake.Watcher().Poke()
	waitUntil(t, 10*time.Second, "auto-CC of both", func() bool {
		ba, _ := h.srv.Bug(a)
		bc, _ := h.srv.Bug(c)
		return slices.Contains(ba.CC, "hardened@gentoo.org") && slices.Contains(bc.CC, "hardened@gentoo.org")
	})
	reqs = h.srv.Requests()[before:]
	if p, f := methodCount(reqs, "PUT", "/rest/bug"), freshReads(reqs); p != 1 || f != 1 {
		t.Errorf("two bugs with equal CC additions took %d PUTs and %d reads by id, want 1 and 1", p, f)
	}
	if n := methodCount(reqs, "GET", fmt.Sprintf("/rest/bug/%d", a)) + methodCount(reqs, "GET", fmt.Sprintf("/rest/bug/%d", c)); n != 0 {
		t.Errorf("%d reads of the new bugs", n)
	}
}

// TestCommentOnClosedUnseenBugIsNotNew: a comment on an old resolved bug
// the bot never saw, and a push naming another one, announce nothing as
// new and write nothing to them; a bug filed afterwards is announced.
func TestCommentOnClosedUnseenBugIsNotNew(t *testing.T) {
	h := newHarness(t, "")
	h.cfg.HTTP.WebhookSecret = webhookSecret
	long := time.Now().Add(-30 * 24 * time.Hour)
	closed := h.srv.CreateBug(bugzillatest.NewBug{Summary: "sys-kernel/hardened-sources: fixed long ago", Status: "RESOLVED", Created: long})
	pushed := h.srv.CreateBug(bugzillatest.NewBug{Summary: "sys-kernel/hardened-sources: also fixed long ago", Status: "RESOLVED", Created: long})
	rec := newRecorder("test", "#gentoo-kernel")
	b, st, _ := h.startAt(nil, rec)
	hs := httptest.NewServer(b.HTTP.Handler())
	t.Cleanup(hs.Close)
	waitPolls(t, b, 1)

	h.srv.UpdateBug(closed, func(bg *bugzillatest.Bug) {
		bg.Comments = append(bg.Comments, bugzillatest.Comment{Creator: "alice@gentoo.org", Text: "is this still a problem in 6.12?"})
	})
	if code, msg := postWebhook(t, hs.URL, hdr("X-Ksecbot-Secret", webhookSecret), fmt.Sprintf(`{"bug":{"id":%d}}`, pushed)); code != http.StatusAccepted {
		t.Fatalf("push: %d %q", code, msg)
	}
	waitUntil(t, 10*time.Second, "both old bugs mirrored", func() bool {
		_, ok1, _ := st.Bug(context.Background(), closed)
		_, ok2, _ := st.Bug(context.Background(), pushed)
		return ok1 && ok2
	})
	fresh := h.srv.CreateBug(bugzillatest.NewBug{Summary: "sys-kernel/hardened-sources: really new"})
	rec.waitFor(t, 10*time.Second, "the new bug's announcement", func(m []chat.Outgoing) bool {
		return count(m, fmt.Sprintf("announce/%d/test:#gentoo-kernel", fresh)) == 1
	})
	waitUntil(t, 10*time.Second, "auto-CC of the new bug", func() bool {
		bug, _ := h.srv.Bug(fresh)
		return slices.Contains(bug.CC, "hardened@gentoo.org")
	})
	for _, m := range rec.sentCopy() {
		if slices.Contains(m.BugIDs, closed) || slices.Contains(m.BugIDs, pushed) {
			t.Errorf("an old closed bug was announced: %q", plain([]chat.Outgoing{m}))
		}
	}
	reqs := h.srv.Requests()
	for _, id := range []int{closed, pushed} {
		if n := methodCount(reqs, "PUT", fmt.Sprintf("/rest/bug/%d", id)); n != 0 {
			t.Errorf("auto-CC wrote %d times to closed bug %d", n, id)
		}
	}
}

// TestWebhookBounds: a push naming more than 100 bugs is refused with a
// clear 413 and no Bugzilla request; pushes are read by one worker from a
// de-duplicated queue, so 30 pushes naming the same bugs while Bugzilla is
// slow cost a couple of searches, not 30.
func TestWebhookBounds(t *testing.T) {
	h := newHarness(t, "")
	h.cfg.Bugzilla.PollInterval.Duration = time.Hour
	h.cfg.HTTP.WebhookSecret = webhookSecret
	rec := newRecorder("test", "#gentoo-kernel")
	b, _ := h.start(rec)
	hs := httptest.NewServer(b.HTTP.Handler())
	t.Cleanup(hs.Close)
	waitPolls(t, b, 1)
	settle(t, h)
	secret := hdr("X-Ksecbot-Secret", webhookSecret)

	ids := make([]string, 101)
	for i := range ids {
		ids[i] = fmt.Sprint(1000 + i)
	}
	before := len(h.srv.Requests())
	code, msg := postWebhook(t, hs.URL, secret, `{"bugs":[`+strings.Join(ids, ",")+`]}`)
	if code != http.StatusRequestEntityTooLarge || !strings.Contains(msg, "at most 100") {
		t.Errorf("push of 101 ids: %d %q, want 413 naming the limit", code, msg)
	}
	if n := len(h.srv.Requests()) - before; n != 0 {
		t.Errorf("a refused push made %d Bugzilla requests", n)
	}

	// Bugzilla is slow: the worker's first search hangs while 30 pushes of
	// the same 100 ids arrive.
	h.srv.SetFault(bugzillatest.Fault{Mode: bugzillatest.FaultHang, Path: "/rest/bug"})
	body := `{"bugs":[` + strings.Join(ids[:100], ",") + `]}`
	for i := 0; i < 30; i++ {
		if code, msg := postWebhook(t, hs.URL, secret, body); code != http.StatusAccepted {
			t.Fatalf("push %d: %d %q", i, code, msg)
		}
	}
	waitUntil(t, 10*time.Second, "the first search to hang", func() bool {
		return methodCount(h.srv.Requests()[before:], "GET", "/rest/bug") >= 1
	})
	if _, m := httpGet(t, hs.URL+"/metrics"); !strings.Contains(m, "ksecbot_push_queue 100") && !strings.Contains(m, "ksecbot_push_queue 0") {
		t.Errorf("push queue not de-duplicated: %s", metricLine(m, "ksecbot_push_queue"))
	}
	h.srv.ClearFault()
	waitUntil(t, 30*time.Second, "the queue drained", func() bool {
		_, m := httpGet(t, hs.URL+"/metrics")
		return strings.Contains(m, "ksecbot_push_queue 0")
	})
	waitUntil(t, 30*time.Second, "the search for the queued ids", func() bool {
		return methodCount(h.srv.Requests()[before:], "GET", "/rest/bug") >= 2
	})
	// The hung search (and its retries) plus one for the queued ids.
	if n := methodCount(h.srv.Requests()[before:], "GET", "/rest/bug"); n > 6 {
		t.Errorf("30 pushes of the same ids made %d searches, want a handful", n)
	}
}

func metricLine(m, name string) string {
	for _, l := range strings.Split(m, "\n") {
		if strings.HasPrefix(l, name) {
			return l
		}
	}
	return name + " missing"
}
