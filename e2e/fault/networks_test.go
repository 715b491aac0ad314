// SPDX-License-Identifier: GPL-3.0-or-later

package fault

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ergochat/irc-go/ircmsg"

	"github.com/ksecbot/ksecbot/bugzilla/bugzillatest"
	"github.com/ksecbot/ksecbot/e2e/e2etest"
	"github.com/ksecbot/ksecbot/internal/irctest"
	"github.com/ksecbot/ksecbot/internal/mxtest"
)

// A network that refuses the bot for good stops alone. IRC refuses it
// (a wrong SASL password: 904) while Matrix works: ksecbot keeps running,
// announces on Matrix, tells the Matrix private room once that IRC is
// down and why, and /healthz (200) and /metrics name IRC as down.
func TestIRCRefusedMatrixGoesOn(t *testing.T) {
	t.Parallel()
	s := irctest.Need(t)
	hs := mxtest.Shared(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	w := newMXWorld(ctx, t, hs)
	bz := bugzillatest.New()
	t.Cleanup(bz.Close)
	httpAddr := freeAddr(t)
	mc := w.matrixConf()
	mc.Private = mc.Rooms
	cfg := e2etest.Config{
		Dir: t.TempDir(), BugzillaURL: bz.URL(), DigestAfter: 0, Matrix: mc, Trees: trees,
		IRC:   &e2etest.IRC{Server: s.Addr, Nick: randName("ksb"), Channels: []string{randName("#fault")}, SASLPassword: "not-the-password"},
		Extra: fmt.Sprintf("[http]\nlisten = %q\n", httpAddr),
	}
	proc := e2etest.Start(t, "ksecbot", bin, "--config", cfg.Write(t), "--log-level", "debug")
	proc.Log.Forbid("not-the-password")
	proc.Log.WaitFor(t, 60*time.Second, 0, "irc stopped alone", e2etest.Contains("network stopped", "network=irc", "sasl"))
	proc.Log.WaitFor(t, 60*time.Second, 0, "the Bugzilla baseline", e2etest.Contains("baseline stored"))
	w.waitBotJoined(ctx, t)

	ids := fileBugs(bz, 1, "announced on Matrix while IRC refuses the bot")
	w.waitAnnounced(ctx, t, 60*time.Second, ids)
	alert := w.waitBody(ctx, t, 60*time.Second, "cannot use irc")
	t.Logf("Matrix private room: %q", alert)
	if !strings.Contains(alert, "sasl") || !strings.Contains(alert, "fix the configuration") {
		t.Errorf("the alert does not say what is wrong and what to do: %q", alert)
	}
	code, body := get(t, httpAddr, "/healthz")
	t.Logf("/healthz: %d %q", code, body)
	if code != http.StatusOK || !strings.Contains(body, "degraded: irc: down since") || !strings.Contains(body, "sasl authentication") {
		t.Errorf("/healthz with IRC refused and Matrix up: %d %q, want 200 naming IRC down and why", code, body)
	}
	if _, m := get(t, httpAddr, "/metrics"); !strings.Contains(m, `ksecbot_transport_down{network="irc"} 1`) || !strings.Contains(m, `ksecbot_transport_down{network="matrix"} 0`) {
		t.Errorf("/metrics lacks ksecbot_transport_down 1 for irc and 0 for matrix")
	}
	if n := proc.Log.Count("msg=connected component=irc"); n != 0 {
		t.Errorf("IRC connected %d times with a wrong password", n)
	}
	if proc.Exited() {
		t.Fatalf("ksecbot exited: %v", proc.Err())
	}
	if n := w.countBodies(ctx, t, "cannot use irc"); n != 1 {
		t.Errorf("the Matrix room was told %d times that IRC is down, want once", n)
	}
}

// The same with Matrix refused (an access token the homeserver does not
// know) while IRC works: the IRC private channel gets the announcement and
// one alert naming Matrix, and /healthz (200) names Matrix as down.
func TestMatrixRefusedIRCGoesOn(t *testing.T) {
	t.Parallel()
	s := irctest.Need(t)
	hs := mxtest.Shared(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	u := hs.NewUser(ctx, t, "ksecbot-")
	bz := bugzillatest.New()
	t.Cleanup(bz.Close)
	ch := randName("#fault")
	obs := newIRCObserver(t, s.Addr, ch)
	httpAddr := freeAddr(t)
	cfg := e2etest.Config{
		Dir: t.TempDir(), BugzillaURL: bz.URL(), DigestAfter: 0, Trees: trees,
		IRC:    &e2etest.IRC{Server: s.Addr, Nick: randName("ksb"), Channels: []string{ch}, Private: []string{ch}},
		Matrix: &e2etest.Matrix{Homeserver: hs.URL, UserID: string(u.ID), AccessToken: "syt_not_a_token_the_server_knows", Rooms: []string{"!nowhere:localhost"}},
		Extra:  fmt.Sprintf("[http]\nlisten = %q\n", httpAddr),
	}
	proc := e2etest.Start(t, "ksecbot", bin, "--config", cfg.Write(t), "--log-level", "debug")
	proc.Log.Forbid("syt_not_a_token_the_server_knows")
	proc.Log.WaitFor(t, 60*time.Second, 0, "matrix stopped alone", e2etest.Contains("network stopped", "network=matrix", "token"))
	proc.Log.WaitFor(t, 60*time.Second, 0, "the join", e2etest.Contains("msg=joined component=irc"))
	proc.Log.WaitFor(t, 60*time.Second, 0, "the Bugzilla baseline", e2etest.Contains("baseline stored"))

	ids := fileBugs(bz, 1, "announced on IRC while Matrix refuses the bot")
	obs.waitBugs(t, 60*time.Second, ids)
	var alert string
	obs.Until(t, 60*time.Second, "the alert in the IRC private channel", func(h []ircmsg.Message) bool {
		for _, m := range h {
			if m.Command == "PRIVMSG" && len(m.Params) == 2 && strings.Contains(m.Params[1], "cannot use matrix") {
				alert = m.Params[1]
				return true
			}
		}
		return false
	})
	t.Logf("IRC private channel: %q", alert)
	if !strings.Contains(alert, "token") {
		t.Errorf("the alert does not say what is wrong: %q", alert)
	}
	code, body := get(t, httpAddr, "/healthz")
	t.Logf("/healthz: %d %q", code, body)
	if code != http.StatusOK || !strings.Contains(body, "degraded: matrix: down since") || !strings.Contains(body, "token") {
		t.Errorf("/healthz with Matrix refused and IRC up: %d %q, want 200 naming Matrix down and why", code, body)
	}
	if _, m := get(t, httpAddr, "/metrics"); !strings.Contains(m, `ksecbot_transport_down{network="matrix"} 1`) {
		t.Errorf("/metrics lacks ksecbot_transport_down{network=\"matrix\"} 1")
	}
	if proc.Exited() {
		t.Fatalf("ksecbot exited: %v", proc.Err())
	}
}

// get fetches path from ksecbot's HTTP listener.
func get(t *testing.T, addr, path string) (int, string) {
	t.Helper()
	var resp *http.Response
	e2etest.Eventually(t, 20*time.Second, "ksecbot's HTTP listener", func() bool {
		var err error
		resp, err = http.Get("http://" + addr + path)
		return err == nil
	})
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// waitBody waits until a message of the bot in the room contains sub and
// returns its body.
func (w *mxWorld) waitBody(ctx context.Context, t *testing.T, timeout time.Duration, sub string) string {
	t.Helper()
	var found string
	e2etest.Eventually(t, timeout, fmt.Sprintf("%q in the room", sub), func() bool {
		hist, err := mxtest.History(ctx, w.obs, w.room)
		if err != nil {
			return false
		}
		for _, e := range hist {
			if b := mxtest.Body(e); e.Sender == w.bot.ID && strings.Contains(b, sub) {
				found = b
				return true
			}
		}
		return false
	})
	return found
}

// countBodies counts the bot's messages in the room that contain sub.
func (w *mxWorld) countBodies(ctx context.Context, t *testing.T, sub string) int {
	t.Helper()
	hist, err := mxtest.History(ctx, w.obs, w.room)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range hist {
		if e.Sender == w.bot.ID && strings.Contains(mxtest.Body(e), sub) {
			n++
		}
	}
	return n
}
