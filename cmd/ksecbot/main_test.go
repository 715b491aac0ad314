// SPDX-License-Identifier: GPL-3.0-or-later

package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ksecbot/ksecbot/bot"
	"github.com/ksecbot/ksecbot/bugzilla"
	"github.com/ksecbot/ksecbot/bugzilla/bugzillatest"
	"github.com/ksecbot/ksecbot/config"
	"github.com/ksecbot/ksecbot/store"
	"github.com/ksecbot/ksecbot/transport"
	"github.com/ksecbot/ksecbot/transport/console"
)

const testSecret = "ingest-secret-1"

// daemon is a running ksecbot (real store, real watcher, the console as its
// channel) behind a real HTTP listener, with an embedded Bugzilla.
type daemon struct {
	bz      *bugzillatest.Server
	bot     *bot.Bot
	out     *syncBuffer
	cfgPath string
	url     string
	dir     string
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// writeConfig writes a daemon config whose [http] points at listen and
// whose webhook secret file holds secret.
func writeConfig(t *testing.T, dir, name, bzURL, listen, secret string) string {
	t.Helper()
	secretPath := filepath.Join(dir, name+".secret")
	if err := os.WriteFile(secretPath, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name+".toml")
	toml := fmt.Sprintf(`
[bugzilla]
url = %q
poll_interval = "1h"

[[watch]]
product = "Gentoo Security"
component = "Kernel"

[store]
path = %q

[http]
listen = %q
webhook_secret_file = %q

[[tree]]
name = "hardened"
packages = ["sys-kernel/hardened-sources"]
irc = ["blueness"]
`, bzURL, filepath.Join(dir, "ksecbot.db"), listen, secretPath)
	if err := os.WriteFile(path, []byte(toml), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func startDaemon(t *testing.T) *daemon {
	t.Helper()
	d := &daemon{bz: bugzillatest.New(), out: &syncBuffer{}, dir: t.TempDir()}
	t.Cleanup(d.bz.Close)
	var handler atomic.Pointer[http.Handler]
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h := handler.Load(); h != nil {
			(*h).ServeHTTP(w, r)
			return
		}
		http.Error(w, "starting", http.StatusServiceUnavailable)
	}))
	t.Cleanup(srv.Close)
	d.url = srv.URL
	d.cfgPath = writeConfig(t, d.dir, "ksecbot", d.bz.URL(), srv.Listener.Addr().String(), testSecret)
	cfg, err := config.Load(d.cfgPath, netConfigs()...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	st, err := store.Open(ctx, cfg.Store.Path)
	if err != nil {
		t.Fatal(err)
	}
	bzc, err := bugzilla.New(bugzilla.Options{BaseURL: cfg.Bugzilla.URL, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	con := console.New(console.Options{In: strings.NewReader(""), Out: d.out, Private: true})
	d.bot, err = bot.Wire(bot.Options{Config: cfg, Store: st, Bugzilla: bzc, Transports: []transport.Transport{con},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	h := d.bot.HTTP.Handler()
	handler.Store(&h)
	done := make(chan error, 1)
	go func() { done <- d.bot.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("bot.Run: %v", err)
		}
		st.Close()
	})
	waitUntil(t, "the baseline poll", func() bool { return d.bot.Intake.Watcher().Stats().Polls >= 1 })
	return d
}

func waitUntil(t *testing.T, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// requestsFor counts the Bugzilla requests that named bug id.
func requestsFor(srv *bugzillatest.Server, id int) int {
	n := 0
	want := strconv.Itoa(id)
	for _, r := range srv.Requests() {
		if rest, ok := strings.CutPrefix(r.Path, "/rest/bug/"); ok && strings.Split(rest, "/")[0] == want {
			n++
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

func ingest(args []string, mail []byte) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = run(append([]string{"ingest-mail"}, args...), bytes.NewReader(mail), &out, &errb)
	return code, out.String(), errb.String()
}

func readMail(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "bugmail", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestIngestMail pushes the recorded bugmail to a running daemon with
// polling at 1h: kernel mail makes it read and announce the bug at once,
// other mail is ignored, malformed mail fails and changes nothing.
func TestIngestMail(t *testing.T) {
	d := startDaemon(t)
	// The bugs the recorded mail is about, filed after the baseline:
	// 1-3 and 5 in Gentoo Security/Kernel, 7 in Vulnerabilities, 9 and
	// 10 in Gentoo Linux/Current packages (4, 6 and 8: filler).
	for id := 1; id <= 10; id++ {
		nb := bugzillatest.NewBug{Summary: fmt.Sprintf("sys-kernel/hardened-sources: recorded bug %d", id)}
		switch id {
		case 7:
			nb.Component = "Vulnerabilities"
		case 9, 10:
			nb.Product, nb.Component = "Gentoo Linux", "Current packages"
		}
		if got := d.bz.CreateBug(nb); got != id {
			t.Fatalf("bugzillatest filed bug %d, want %d", got, id)
		}
	}
	announced := func(id int) bool {
		return strings.Contains(d.out.String(), fmt.Sprintf("recorded bug %d ", id))
	}
	args := []string{"--config", d.cfgPath}
	mail01 := readMail(t, "01-new-kernel.eml")

	t.Run("malformed", func(t *testing.T) {
		before := len(d.bz.Requests())
		for _, tc := range []struct {
			name string
			mail []byte
		}{
			{"empty", nil},
			{"garbage", []byte("hello\x00world\n\n\xff\xfe")},
			{"not bugmail", []byte("From: a@example.org\nSubject: [Bug 1] hi\n\nbody\n")},
			{"no bug in the subject", bytes.Replace(mail01, []byte("[Bug 1]"), []byte("[Bug one]"), 1)},
			{"subject and message-id disagree", bytes.Replace(mail01, []byte("<bug-1-4@"), []byte("<bug-2-4@"), 1)},
			{"bug 0", bytes.ReplaceAll(bytes.Replace(mail01, []byte("[Bug 1]"), []byte("[Bug 0]"), 1), []byte("<bug-1-"), []byte("<bug-0-"))},
		} {
			t.Run(tc.name, func(t *testing.T) {
				code, stdout, stderr := ingest(args, tc.mail)
				if code == 0 || !strings.Contains(stderr, "ingest-mail") || stdout != "" {
					t.Errorf("exit %d, stdout %q, stderr %q; want non-zero, nothing on stdout and the reason on stderr", code, stdout, stderr)
				}
			})
		}
		if n := len(d.bz.Requests()) - before; n != 0 {
			t.Errorf("malformed mail caused %d Bugzilla requests, want 0", n)
		}
	})

	for _, tc := range []struct {
		file   string
		bug    int
		pushed bool
	}{
		{"01-new-kernel.eml", 1, true},
		{"03-new-vulnerabilities.eml", 7, false},
		{"04-new-current-packages.eml", 9, false},
		{"05-changed-kernel.eml", 1, true},
		{"08-changed-current-packages.eml", 9, false},
		{"10-changed-kernel.eml", 2, true},
		{"14-changed-kernel.eml", 3, true},
		{"16-changed-current-packages.eml", 10, false},
	} {
		t.Run(tc.file, func(t *testing.T) {
			before := requestsFor(d.bz, tc.bug)
			pushed := time.Now()
			code, stdout, stderr := ingest(args, readMail(t, tc.file))
			if code != 0 {
				t.Fatalf("exit %d, stderr %q", code, stderr)
			}
			if !tc.pushed {
				if !strings.Contains(stdout, "ignored") {
					t.Errorf("stdout %q, want it to say the mail was ignored", stdout)
				}
				if n := requestsFor(d.bz, tc.bug) - before; n != 0 {
					t.Errorf("mail for an unwatched component made %d requests for bug %d", n, tc.bug)
				}
				if announced(tc.bug) {
					t.Errorf("bug %d of an unwatched component was announced", tc.bug)
				}
				return
			}
			if !strings.Contains(stdout, fmt.Sprintf("pushed bug %d", tc.bug)) {
				t.Errorf("stdout %q, want \"pushed bug %d\"", stdout, tc.bug)
			}
			waitUntil(t, fmt.Sprintf("bug %d read and announced", tc.bug), func() bool {
				return requestsFor(d.bz, tc.bug) > before && announced(tc.bug)
			})
			t.Logf("bug %d announced %s after ingest-mail ran (poll interval 1h)", tc.bug, time.Since(pushed).Round(time.Millisecond))
		})
	}
	for _, id := range []int{4, 5, 6, 8} {
		if announced(id) || requestsFor(d.bz, id) != 0 {
			t.Errorf("bug %d, named by no mail, was read or announced", id)
		}
	}
	if n := strings.Count(d.out.String(), "recorded bug 1 "); n != 1 {
		t.Errorf("bug 1 (two mails) announced %d times, want once", n)
	}
}

func TestIngestMailDaemonRefuses(t *testing.T) {
	d := startDaemon(t)
	id := d.bz.CreateBug(bugzillatest.NewBug{Summary: "sys-kernel/hardened-sources: recorded bug 1"})
	mail := readMail(t, "01-new-kernel.eml")
	listen := strings.TrimPrefix(d.url, "http://")
	wrong := writeConfig(t, d.dir, "wrong", d.bz.URL(), listen, "not-the-secret")
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"wrong secret", []string{"--config", wrong}, "401"},
		{"wrong secret, --url", []string{"--config", wrong, "--url", d.url + "/webhook"}, "401"},
		{"no daemon", []string{"--config", d.cfgPath, "--url", "http://127.0.0.1:1/webhook"}, "did not answer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := ingest(tc.args, mail)
			if code == 0 || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want non-zero and %q", code, stderr, tc.want)
			}
		})
	}
	if n := requestsFor(d.bz, id); n != 0 {
		t.Errorf("refused pushes made %d requests for bug %d", n, id)
	}
	// The right config with an explicit --url works.
	if code, _, stderr := ingest([]string{"--config", d.cfgPath, "--url", d.url + "/webhook"}, mail); code != 0 {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	waitUntil(t, "the announcement", func() bool { return strings.Contains(d.out.String(), "recorded bug 1 ") })
}
