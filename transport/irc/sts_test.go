// SPDX-License-Identifier: GPL-3.0-or-later

package irc

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ergochat/irc-go/ircmsg"

	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/internal/irctest"
	"github.com/ksecbot/ksecbot/transport"
)

// A server that advertises STS (a private InspIRCd with ircv3_sts) is
// left at once on plaintext, before SASL sends a password, for its TLS
// port; the bot logs in there, remembers the policy in its state
// directory, and the next start goes straight to TLS without touching the
// plaintext port. The plaintext port is reached through a proxy that
// records every line the bot sends there.
func TestSTSMovesToTLSBeforeAuthenticating(t *testing.T) {
	t.Parallel()
	irctest.Need(t)
	srv := irctest.StartServer(t, irctest.ServerOptions{STS: true})
	proxy := irctest.NewProxy(t, srv.Addr)
	var mu sync.Mutex
	var plain []string
	proxy.SetHook(func(m ircmsg.Message) irctest.Verdict {
		mu.Lock()
		plain = append(plain, m.Command)
		mu.Unlock()
		return irctest.Pass
	})
	// By name, as an operator writes it: the server sends its policy's
	// duration only to a TLS client that names it (SNI), and the upgrade
	// goes to the same host on the server's TLS port.
	cfg := botConfig("localhost:" + strings.Split(proxy.Addr, ":")[1])
	cfg.TLSCAFile = srv.CAFile
	state := t.TempDir()
	run := func() {
		tr, err := New(cfg, Options{Version: "ksecbot-test", StateDir: state, Logger: slog.New(slog.NewTextHandler(testWriter{t}, nil))})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- tr.Run(ctx, transport.InboxFunc(func(context.Context, chat.Incoming) {})) }()
		t.Cleanup(func() { cancel(); <-done })
		// connected means logged in: SASL is required (not optional) here
		until(t, 30*time.Second, "a connection", func() bool { return tr.Connected() })

	}
	run()
	mu.Lock()
	seen := append([]string(nil), plain...)
	mu.Unlock()
	t.Logf("lines on the plaintext port: %v", seen)
	for _, c := range seen {
		if c == "AUTHENTICATE" || c == "NICK" || c == "USER" {
			t.Errorf("%s sent on the plaintext port after its STS policy: %v", c, seen)
		}
	}
	if len(seen) == 0 || seen[0] != "CAP" {
		t.Errorf("the plaintext port saw %v, want the bot's CAP LS and nothing after the policy", seen)
	}
	b, err := os.ReadFile(filepath.Join(state, stsFile))
	if err != nil || !strings.Contains(string(b), `"port": `+strings.Split(srv.TLS, ":")[1]) {
		t.Fatalf("the policy was not remembered in the state directory: %q, %v", b, err)
	}

	// A new transport (a restart) reads the policy: straight to TLS.
	mu.Lock()
	plain = nil
	mu.Unlock()
	run()
	mu.Lock()
	defer mu.Unlock()
	if len(plain) != 0 {
		t.Errorf("after a restart with the policy remembered, the plaintext port saw %v, want nothing", plain)
	}
}

// parseSTS reads what a server sends: only valid ports and durations
// count, whatever the value holds.
func FuzzParseSTS(f *testing.F) {
	for _, s := range []string{"port=6697", "duration=300", "port=6697,duration=2592000,preload", "port=0", "port=99999", "duration=-1", "", ",,=,", "port=6697,port=7000"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		port, portOK, d, durOK := parseSTS(v)
		if portOK && (port <= 0 || port > 65535) {
			t.Errorf("parseSTS(%q) port %d accepted", v, port)
		}
		if durOK && d < 0 {
			t.Errorf("parseSTS(%q) duration %v accepted", v, d)
		}
		if !portOK && port != 0 {
			t.Errorf("parseSTS(%q) port %d without ok", v, port)
		}
	})
}
