// SPDX-License-Identifier: GPL-3.0-or-later

package bot_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ksecbot/ksecbot/bugzilla/bugzillatest"
	"github.com/ksecbot/ksecbot/chat"
)

const webhookSecret = "s3cret-hook"

// requestsFor counts the Bugzilla requests that named bug id: GET
// /rest/bug/ID[/...] or a search with id=...,ID,...
func requestsFor(srv *bugzillatest.Server, id int) int {
	n := 0
	want := strconv.Itoa(id)
	for _, r := range srv.Requests() {
		if rest, ok := strings.CutPrefix(r.Path, "/rest/bug/"); ok && strings.Split(rest, "/")[0] == want {
			n++
			continue
		}
		for _, v := range r.Query["id"] {
			for _, s := range strings.Split(v, ",") {
				if s == want {
					n++
				}
			}
		}
	}
	return n
}

func postWebhook(t *testing.T, url string, header http.Header, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url+"/webhook", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = header
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(msg)
}

func hdr(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return h
}

// bmoPayload is shaped like a bugzilla.mozilla.org webhook. Its summary
// is a forgery: ksecbot must announce what Bugzilla says instead.
func bmoPayload(id int) string {
	return fmt.Sprintf(`{"webhook_name":"ksecbot","webhook_id":7,
		"event":{"action":"create","time":"2026-11-27T04:29:38","user":{"login":"security@gentoo.org"},"target":"bug","routing_key":"bug.create"},
		"bug":{"id":%d,"summary":"FORGED: click http://evil.example","product":"Gentoo Security","component":"Kernel","whiteboard":"A0"}}`, id)
}

func TestWebhookPush(t *testing.T) {
	h := newHarness(t, "")
	h.cfg.Bugzilla.PollInterval.Duration = time.Hour // no poll would find the bugs in time
	h.cfg.HTTP.WebhookSecret = webhookSecret
	// Bug 1 exists before the start: the startup API-key check reads it.
	h.srv.CreateBug(bugzillatest.NewBug{Summary: "sys-kernel/gentoo-sources: known before the start"})
	rec := newRecorder("test", "#gentoo-kernel")
	b, _, _ := h.startAt(nil, rec)
	srv := httptest.NewServer(b.HTTP.Handler())
	t.Cleanup(srv.Close)
	waitPolls(t, b, 1)
	polls := b.Intake.Watcher().Stats().Polls

	forbidden := h.srv.CreateBug(bugzillatest.NewBug{Summary: "sys-kernel/gentoo-sources: only a forged push names me"})
	body := fmt.Sprintf(`{"bug":{"id":%d}}`, forbidden)
	for _, tc := range []struct {
		name   string
		header http.Header
		body   string
		want   int
	}{
		{"no secret", hdr(), body, http.StatusUnauthorized},
		{"wrong secret", hdr("X-Ksecbot-Secret", "guess"), body, http.StatusUnauthorized},
		{"wrong bearer", hdr("Authorization", "Bearer guess"), body, http.StatusUnauthorized},
		{"prefix of the secret", hdr("X-Ksecbot-Secret", webhookSecret[:5]), body, http.StatusUnauthorized},
		{"secret plus more", hdr("X-Ksecbot-Secret", webhookSecret+"x"), body, http.StatusUnauthorized},
		{"secret in another header", hdr("X-Secret", webhookSecret), body, http.StatusUnauthorized},
		{"right secret, no bug id", hdr("X-Ksecbot-Secret", webhookSecret), `{"bug":{}}`, http.StatusBadRequest},
		{"right secret, not JSON", hdr("X-Ksecbot-Secret", webhookSecret), `bug=` + strconv.Itoa(forbidden), http.StatusBadRequest},
		{"right secret, negative id", hdr("X-Ksecbot-Secret", webhookSecret), `{"bug":{"id":-1}}`, http.StatusBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, msg := postWebhook(t, srv.URL, tc.header, tc.body)
			if code != tc.want {
				t.Errorf("status %d (%q), want %d", code, msg, tc.want)
			}
			if n := requestsFor(h.srv, forbidden); n != 0 {
				t.Errorf("a rejected push made %d Bugzilla requests for bug %d", n, forbidden)
			}
		})
	}

	// Authenticated pushes, both header styles and both payload shapes:
	// the bug is read through the API and announced at once.
	for i, tc := range []struct {
		name   string
		header http.Header
		body   func(id int) string
	}{
		{"X-Ksecbot-Secret, minimal payload", hdr("X-Ksecbot-Secret", webhookSecret), func(id int) string { return fmt.Sprintf(`{"bug":{"id":%d}}`, id) }},
		{"Bearer, BMO payload", hdr("Authorization", "Bearer "+webhookSecret), bmoPayload},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := h.srv.CreateBug(bugzillatest.NewBug{Summary: fmt.Sprintf("sys-kernel/hardened-sources: pushed bug %d", i), Whiteboard: "B2"})
			pushed := time.Now()
			if code, msg := postWebhook(t, srv.URL, tc.header, tc.body(id)); code != http.StatusAccepted {
				t.Fatalf("status %d (%q), want 202", code, msg)
			}
			msgs := rec.waitFor(t, 5*time.Second, fmt.Sprintf("the announcement of pushed bug %d", id), func(m []chat.Outgoing) bool {
				return count(m, fmt.Sprintf("announce/%d/test:#gentoo-kernel", id)) == 1
			})
			t.Logf("announced %s after the push (poll interval %s)", time.Since(pushed).Round(time.Millisecond), h.cfg.Bugzilla.PollInterval.Duration)
			for _, m := range msgs {
				if m.BugIDs[0] != id {
					continue
				}
				line := strings.Join(m.Plain("irc"), " ")
				if !strings.Contains(line, fmt.Sprintf("pushed bug %d", i)) || strings.Contains(line, "FORGED") || strings.Contains(line, "[A0]") {
					t.Errorf("announcement %q should carry Bugzilla's data, not the push's", line)
				}
			}
		})
	}
	if got := b.Intake.Watcher().Stats().Polls; got != polls {
		t.Errorf("%d polls happened during the test; the announcements must come from the pushes", got-polls)
	}
	if n := requestsFor(h.srv, forbidden); n != 0 {
		t.Errorf("bug %d, named only by rejected pushes, was read %d times", forbidden, n)
	}
	for _, m := range rec.sentCopy() {
		if len(m.BugIDs) > 0 && m.BugIDs[0] == forbidden {
			t.Errorf("bug %d, named only by rejected pushes, was announced: %v", forbidden, plain([]chat.Outgoing{m}))
		}
	}
}

func TestWebhookDisabledWithoutSecret(t *testing.T) {
	h := newHarness(t, "")
	h.cfg.Bugzilla.PollInterval.Duration = time.Hour
	// Bug 1 exists before the start: the startup API-key check reads it.
	h.srv.CreateBug(bugzillatest.NewBug{Summary: "sys-kernel/gentoo-sources: known before the start"})
	rec := newRecorder("test", "#gentoo-kernel")
	b, _, _ := h.startAt(nil, rec)
	srv := httptest.NewServer(b.HTTP.Handler())
	t.Cleanup(srv.Close)
	waitPolls(t, b, 1)
	id := h.srv.CreateBug(bugzillatest.NewBug{Summary: "sys-kernel/gentoo-sources: pushed to a daemon without a secret"})
	for _, header := range []http.Header{hdr(), hdr("X-Ksecbot-Secret", ""), hdr("Authorization", "Bearer ")} {
		code, msg := postWebhook(t, srv.URL, header, fmt.Sprintf(`{"bug":{"id":%d}}`, id))
		if code == http.StatusAccepted || code/100 == 2 {
			t.Errorf("push accepted (%d %q) although http.webhook_secret_file is not set", code, msg)
		}
	}
	if n := requestsFor(h.srv, id); n != 0 {
		t.Errorf("pushes to a disabled webhook made %d requests for bug %d", n, id)
	}
}
