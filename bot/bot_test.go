// SPDX-License-Identifier: GPL-3.0-or-later

package bot_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/ksecbot/ksecbot/bot"
	"github.com/ksecbot/ksecbot/bugzilla"
	"github.com/ksecbot/ksecbot/bugzilla/bugzillatest"
	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/config"
	"github.com/ksecbot/ksecbot/store"
	"github.com/ksecbot/ksecbot/transport"
	"github.com/ksecbot/ksecbot/transport/console"
	"github.com/ksecbot/ksecbot/transport/irc"
	"github.com/ksecbot/ksecbot/transport/matrix"
)

// recorder is an in-memory transport with any number of channels. The
// real transports have their own tests against real servers; this one lets
// the core tests count what each channel got.
type recorder struct {
	network  string
	channels []chat.Channel
	mu       sync.Mutex
	sent     []chat.Outgoing
	notify   chan struct{}
	down     bool
}

func newRecorder(network string, names ...string) *recorder {
	r := &recorder{network: network, notify: make(chan struct{}, 1000)}
	for i, n := range names {
		r.channels = append(r.channels, chat.Channel{Key: chat.ChannelKey(network, n), Network: network, Name: n, Private: i == 0 && strings.Contains(n, "security")})
	}
	return r
}

func (r *recorder) Network() string { return r.network }
func (r *recorder) Channels() []chat.Channel {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]chat.Channel(nil), r.channels...)
}

// setPrivate changes a channel's private flag, as a reload does.
func (r *recorder) setPrivate(name string, private bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range r.channels {
		if r.channels[i].Name == name {
			r.channels[i].Private = private
		}
	}
}

// setDown takes the transport down or brings it back.
func (r *recorder) setDown(down bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.down = down
}
func (r *recorder) Connected() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return !r.down
}
func (r *recorder) Run(ctx context.Context, in transport.Inbox) error { <-ctx.Done(); return nil }
func (r *recorder) Send(ctx context.Context, out chat.Outgoing) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.down {
		return "", fmt.Errorf("not connected")
	}
	r.sent = append(r.sent, out)
	r.notify <- struct{}{}
	return "", nil
}

// waitFor waits until pred holds for the recorded messages.
func (r *recorder) waitFor(t *testing.T, d time.Duration, what string, pred func([]chat.Outgoing) bool) []chat.Outgoing {
	t.Helper()
	deadline := time.After(d)
	for {
		r.mu.Lock()
		cp := append([]chat.Outgoing(nil), r.sent...)
		r.mu.Unlock()
		if pred(cp) {
			return cp
		}
		select {
		case <-r.notify:
		case <-time.After(50 * time.Millisecond):
		case <-deadline:
			t.Fatalf("timed out after %s waiting for %s; got %d messages: %v", d, what, len(cp), plain(cp))
		}
	}
}

func plain(msgs []chat.Outgoing) []string {
	var out []string
	for _, m := range msgs {
		out = append(out, m.Channel+" "+strings.Join(m.Plain("irc"), " / "))
	}
	return out
}

func count(msgs []chat.Outgoing, key string) int {
	n := 0
	for _, m := range msgs {
		if m.Key == key {
			n++
		}
	}
	return n
}

// nets are the networks the test configurations are parsed for, as
// cmd/ksecbot registers them.
var nets = []config.Network{irc.Network.Config, matrix.Network.Config}

const baseConfig = `
[bugzilla]
url = "http://127.0.0.1/"
poll_interval = "300ms"

[[watch]]
product = "Gentoo Security"
component = "Kernel"

[announce]
auto_cc = ["kernel@gentoo.org"]
digest_after = 5

[[tree]]
name = "gentoo-sources"
packages = ["sys-kernel/gentoo-sources", "sys-kernel/gentoo-kernel"]
bugzilla = ["kernel@gentoo.org"]
irc = ["mpagano"]

[[tree]]
name = "hardened"
packages = ["sys-kernel/hardened-sources"]
bugzilla = ["hardened@gentoo.org"]
irc = ["blueness", "zorry"]
auto_cc = true
`

type harness struct {
	t      *testing.T
	srv    *bugzillatest.Server
	cfg    *config.Config
	dbPath string
	logOut io.Writer // if set, the bot logs here (debug level)
	// infoLog, when set, gets the bot's log at info level (startAt);
	// debugLog all of it, the Bugzilla client's too (startAt).
	infoLog, debugLog io.Writer

	keyRetry, defaultsRefresh time.Duration // bot.Options; 0: defaults

	bot *bot.Bot // the last one started
}

func newHarness(t *testing.T, extraTOML string) *harness {
	t.Helper()
	srv := bugzillatest.New()
	t.Cleanup(srv.Close)
	cfg, err := config.Parse([]byte(baseConfig+extraTOML), "test.toml", nets...)
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	cfg.Bugzilla.URL = srv.URL()
	cfg.Bugzilla.PublicURL = "https://bugs.gentoo.org"
	cfg.Bugzilla.APIKey = "key-ksecbot"
	return &harness{t: t, srv: srv, cfg: cfg, dbPath: filepath.Join(t.TempDir(), "ksecbot.db")}
}

// start runs a bot with the given transports until the returned stop is
// called.
func (h *harness) start(ts ...transport.Transport) (b *bot.Bot, stop func()) {
	h.t.Helper()
	b, st := h.wire(ts...)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				h.t.Errorf("bot.Run: %v", err)
			}
			st.Close()
		})
	}
	h.t.Cleanup(stop)
	return b, stop
}

// wire builds a bot with the given transports on the harness's store,
// without running it; the caller closes the store.
func (h *harness) wire(ts ...transport.Transport) (*bot.Bot, *store.Store) {
	h.t.Helper()
	st, err := store.Open(context.Background(), h.dbPath)
	if err != nil {
		h.t.Fatal(err)
	}
	bz, err := bugzilla.New(bugzilla.Options{BaseURL: h.cfg.Bugzilla.URL, APIKey: h.cfg.Bugzilla.APIKey.Reveal(), Timeout: 5 * time.Second})
	if err != nil {
		h.t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(testWriter{h.t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	if h.logOut != nil {
		w := h.logOut
		if testing.Verbose() {
			w = io.MultiWriter(w, testWriter{h.t})
		}
		log = slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	b, err := bot.Wire(bot.Options{Config: h.cfg, Store: st, Bugzilla: bz, Transports: ts, Logger: log, KeyRetry: h.keyRetry, DefaultsRefresh: h.defaultsRefresh})
	if err != nil {
		h.t.Fatal(err)
	}
	h.bot = b
	return b, st
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func TestNewBugAnnouncedWithHighlights(t *testing.T) {
	h := newHarness(t, "")
	// Filed two days before the first start: older than [bugzilla] catch_up.
	old := h.srv.CreateBug(bugzillatest.NewBug{Summary: "sys-kernel/gentoo-sources: old bug, already known", Created: time.Now().Add(-48 * time.Hour)})
	rec := newRecorder("test", "#gentoo-kernel", "#gentoo-dev")
	b, _ := h.start(rec)
	waitPolls(t, b, 1)

	created := time.Now()
	id := h.srv.CreateBug(bugzillatest.NewBug{Summary: "sys-kernel/hardened-sources: use-after-free in net/sched", Whiteboard: "B2 [upstream]"})
	msgs := rec.waitFor(t, 5*time.Second, "the announcement in both channels", func(m []chat.Outgoing) bool {
		return count(m, fmt.Sprintf("announce/%d/test:#gentoo-kernel", id)) == 1 && count(m, fmt.Sprintf("announce/%d/test:#gentoo-dev", id)) == 1
	})
	t.Logf("announced %s after the bug was filed (poll interval %s)", time.Since(created).Round(time.Millisecond), h.cfg.Bugzilla.PollInterval.Duration)
	for _, m := range msgs {
		line := strings.Join(m.Plain("irc"), " ")
		if !strings.Contains(line, "hardened: blueness zorry") || strings.Contains(line, "mpagano") {
			t.Errorf("announcement %q should highlight exactly the hardened maintainers", line)
		}
		if strings.Contains(line, fmt.Sprintf("bug %d:", old)) {
			t.Errorf("a bug that existed before the first start was announced: %q", line)
		}
	}
	// Auto-CC: announce.auto_cc plus the hardened tree's login.
	waitUntil(t, 5*time.Second, "auto-CC in Bugzilla", func() bool {
		bug, _ := h.srv.Bug(id)
		return contains(bug.CC, "kernel@gentoo.org") && contains(bug.CC, "hardened@gentoo.org")
	})
}

func TestRestartCatchesUpWithoutRepeats(t *testing.T) {
	h := newHarness(t, "")
	rec := newRecorder("test", "#gentoo-kernel")
	b, stop := h.start(rec)
	waitPolls(t, b, 1)
	first := h.srv.CreateBug(bugzillatest.NewBug{Summary: "sys-kernel/gentoo-sources: first"})
	rec.waitFor(t, 5*time.Second, "the first announcement", func(m []chat.Outgoing) bool {
		return count(m, fmt.Sprintf("announce/%d/test:#gentoo-kernel", first)) == 1
	})
	stop()

	// Filed while ksecbot is down: announced after it starts.
	second := h.srv.CreateBug(bugzillatest.NewBug{Summary: "sys-kernel/gentoo-sources: filed while ksecbot was down"})
	b2, _ := h.start(rec)
	rec.waitFor(t, 5*time.Second, "the bug filed during the downtime", func(m []chat.Outgoing) bool {
		return count(m, fmt.Sprintf("announce/%d/test:#gentoo-kernel", second)) == 1
	})
	waitPolls(t, b2, 3)
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if n := count(rec.sent, fmt.Sprintf("announce/%d/test:#gentoo-kernel", first)); n != 1 {
		t.Errorf("bug %d announced %d times across a restart, want 1", first, n)
	}
	if n := count(rec.sent, fmt.Sprintf("announce/%d/test:#gentoo-kernel", second)); n != 1 {
		t.Errorf("bug %d announced %d times, want 1", second, n)
	}
}

func TestOutageDelaysButNeverLoses(t *testing.T) {
	h := newHarness(t, "")
	rec := newRecorder("test", "#gentoo-kernel")
	rec.down = true
	b, _ := h.start(rec)
	waitPolls(t, b, 1)
	id := h.srv.CreateBug(bugzillatest.NewBug{Summary: "sys-kernel/gentoo-sources: filed while the network is down"})
	waitPolls(t, b, 3)
	rec.mu.Lock()
	rec.down = false
	rec.mu.Unlock()
	rec.waitFor(t, 10*time.Second, "delivery after the network came back", func(m []chat.Outgoing) bool {
		return count(m, fmt.Sprintf("announce/%d/test:#gentoo-kernel", id)) == 1
	})
}

func TestSteadyStatePollIsOneSearch(t *testing.T) {
	var trees strings.Builder
	for i := 0; i < 10; i++ {
		fmt.Fprintf(&trees, "\n[[tree]]\nname = \"tree%d\"\npackages = [\"sys-kernel/tree%d-sources\"]\nbugzilla = [\"tree%d@gentoo.org\"]\nirc = [\"nick%d\"]\n", i, i, i, i)
	}
	h := newHarness(t, `
[[watch]]
product = "Gentoo Security"
component = "Vulnerabilities"

[[watch]]
product = "Gentoo Linux"
component = "Current packages"
`+trees.String())
	h.cfg.Trees = h.cfg.Trees[2:] // the 10 generated trees
	for i := 0; i < 5; i++ {
		h.srv.CreateBug(bugzillatest.NewBug{Summary: fmt.Sprintf("sys-kernel/tree%d-sources: bug", i)})
	}
	rec := newRecorder("test", "#c1", "#c2", "#c3", "#c4", "#c5")
	b, _ := h.start(rec)
	waitPolls(t, b, 2) // baseline done, steady state from here
	before, polls := h.srv.SearchCount(), b.Intake.Watcher().Stats().Polls
	waitPolls(t, b, int(polls)+5)
	after, polls2 := h.srv.SearchCount(), b.Intake.Watcher().Stats().Polls
	perPoll := float64(after-before) / float64(polls2-polls)
	t.Logf("3 watches, 10 trees, 5 channels: %d searches in %d polls (%.2f per poll)", after-before, polls2-polls, perPoll)
	if perPoll > 1 {
		t.Errorf("steady-state polls made %.2f search requests each, want at most 1", perPoll)
	}
}

func TestHostileSummaryIsOneSafeConsoleLine(t *testing.T) {
	h := newHarness(t, "")
	h.cfg.Announce.DigestAfter = 0 // one line per bug
	var out syncBuffer
	con := console.New(console.Options{In: strings.NewReader(""), Out: &out, Private: true})
	b, _ := h.start(con)
	waitPolls(t, b, 1)
	hostile := []string{
		"x\r\nQUIT :pwned\r\nPRIVMSG #x :y",
		"\x01DCC SEND evil 0 0 0\x01",
		"\x0304,01red\x02bold\x1d\x1f\x16\x0f <b>html</b> <script>alert(1)</script>",
		strings.Repeat("€", 3500), // 10 kB
		"bad utf8 \xff\xfe\xc3 end",
		"nul\x00byte \x1b[31mansi",
	}
	for _, s := range hostile {
		h.srv.CreateBug(bugzillatest.NewBug{Summary: "sys-kernel/gentoo-sources: " + s})
	}
	waitUntil(t, 10*time.Second, "six announcements", func() bool { return strings.Count(out.String(), "New kernel security bug") >= len(hostile) })
	for _, line := range strings.Split(strings.TrimRight(out.String(), "\n"), "\n") {
		if !utf8.ValidString(line) {
			t.Errorf("invalid UTF-8 in %q", line)
		}
		if len(line) > 2100 {
			t.Errorf("line of %d bytes", len(line))
		}
		for _, r := range line {
			if r < 0x20 || r == 0x7f {
				t.Errorf("control character %U in %q", r, line)
			}
		}
		if strings.HasPrefix(strings.TrimSpace(line[min(len(line), 9):]), "QUIT") || strings.Contains(line, "PRIVMSG #x") && !strings.Contains(line, "New kernel security bug") {
			t.Errorf("hostile text became its own line: %q", line)
		}
	}
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

func waitPolls(t *testing.T, b *bot.Bot, n int) {
	t.Helper()
	waitUntil(t, 20*time.Second, fmt.Sprintf("%d polls", n), func() bool { return b.Intake.Watcher().Stats().Polls >= int64(n) })
}

func waitUntil(t *testing.T, d time.Duration, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
