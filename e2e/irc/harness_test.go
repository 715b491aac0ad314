// SPDX-License-Identifier: GPL-3.0-or-later

// Package e2eirc holds end-to-end tests of the whole ksecbot: the real
// binary (built once in TestMain) against the real InspIRCd+Atheme test
// servers and the in-process Bugzilla test server. Observer clients are
// plain irc-go connections that see what a person in the channel sees.
//
// Run scripts/irc-server.sh start and source its env file first; without
// KSECBOT_IRC_ADDR the tests skip, unless CI=true (then they fail).
package e2eirc

import (
	"os"
	"testing"
	"time"

	"github.com/ksecbot/ksecbot/bugzilla/bugzillatest"
	"github.com/ksecbot/ksecbot/e2e/e2etest"
	"github.com/ksecbot/ksecbot/internal/irctest"
)

// binPath is the ksecbot binary built by TestMain.
var binPath string

func TestMain(m *testing.M) {
	os.Exit(e2etest.RunMain(m, "e2e/irc", irctest.Available(), &binPath))
}

var (
	randName    = irctest.RandName
	from        = irctest.From
	privmsgFrom = irctest.PrivmsgFrom
	plainText   = irctest.PlainText
)

// newObserver connects a person's client with nick (random if empty),
// logged in to the services account if account is set.
func newObserver(t *testing.T, addr, nick, account string) *irctest.Observer {
	t.Helper()
	return irctest.NewObserver(t, addr, irctest.Options{Nick: nick, Account: account})
}

// trees are the registry of every test.
var trees = []e2etest.Tree{
	{Name: "gentoo-sources", Packages: []string{"sys-kernel/gentoo-sources", "sys-kernel/gentoo-kernel"},
		Bugzilla: []string{"kernel@gentoo.org"}, IRC: []string{"mpagano", "alicef"}},
	{Name: "hardened", Packages: []string{"sys-kernel/hardened-sources"},
		Bugzilla: []string{"hardened@gentoo.org"}, IRC: []string{"blueness", "zorry"}},
}

// newConfig is ksecbot on server in channels with a fresh nick, the two
// trees, Bugzilla bz polled every 500 ms and the default digest.
func newConfig(t *testing.T, bz *bugzillatest.Server, server string, channels ...string) e2etest.Config {
	return e2etest.Config{
		Dir:         t.TempDir(),
		BugzillaURL: bz.URL(),
		DigestAfter: -1,
		IRC:         &e2etest.IRC{Server: server, Nick: randName("ksb"), Channels: channels},
		Trees:       trees,
	}
}

// fastFlood is for the lenient port, which has no flood limits: tests
// that are not about flood control need not wait 2 s per line.
func fastFlood(c e2etest.Config) e2etest.Config {
	c.IRC.FloodBurst, c.IRC.FloodInterval = 10, 200*time.Millisecond
	return c
}

// botProc is a running ksecbot binary.
type botProc struct {
	*e2etest.Proc
	nick string
}

// startBot runs the ksecbot binary on c (written now); the cleanup stops
// it with SIGTERM and reports a non-zero exit. KSECBOT_E2E_LOG_LEVEL sets
// its log level.
func startBot(t *testing.T, c e2etest.Config, args ...string) *botProc {
	t.Helper()
	if lv := os.Getenv("KSECBOT_E2E_LOG_LEVEL"); lv != "" {
		args = append(args, "--log-level", lv)
	}
	p := e2etest.Start(t, "ksecbot", binPath, append([]string{"--config", c.Write(t)}, args...)...)
	return &botProc{Proc: p, nick: c.IRC.Nick}
}

// waitExit waits for the process to exit by itself.
func (p *botProc) waitExit(t *testing.T, timeout time.Duration) error {
	t.Helper()
	select {
	case <-p.Done():
		return p.Err()
	case <-time.After(timeout):
		t.Fatalf("ksecbot still running after %v", timeout)
		return nil
	}
}

// ready waits until the bot joined every channel (seen by obs) and
// stored its Bugzilla baseline, so bugs created afterwards are new.
func (p *botProc) ready(t *testing.T, obs *irctest.Observer, channels ...string) {
	t.Helper()
	for _, ch := range channels {
		m, _ := obs.WaitFor(t, 20*time.Second, "ksecbot JOIN "+ch, from("JOIN", p.nick, ch))
		// extended-join: channel account :realname
		if len(m.Params) < 2 || m.Params[1] != "ksecbot" {
			t.Fatalf("ksecbot joined %s as account %q, want ksecbot (SASL)", ch, m.Params)
		}
	}
	p.Log.WaitFor(t, 20*time.Second, 0, "baseline stored", e2etest.Contains("baseline stored"))
}
