// SPDX-License-Identifier: GPL-3.0-or-later

package bot_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ksecbot/ksecbot/bot"
	"github.com/ksecbot/ksecbot/bugzilla/bugzillatest"
	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/transport"
)

// refused is a network whose server refuses the bot for good (a wrong
// password) until fixed: Run returns the permanent error at once; once
// fixed it connects and stays until ctx ends.
type refused struct {
	*recorder
	err   error
	fixed atomic.Bool
	runs  atomic.Int32
}

func newRefused(network string, err error, names ...string) *refused {
	r := &refused{recorder: newRecorder(network, names...), err: err}
	r.setDown(true)
	return r
}

func (r *refused) Run(ctx context.Context, in transport.Inbox) error {
	r.runs.Add(1)
	if !r.fixed.Load() {
		return r.err
	}
	r.setDown(false)
	<-ctx.Done()
	r.setDown(true)
	return nil
}

// A network refused for good (here a misconfigured "irc") stops alone:
// the other network ("matrix") announces new bugs, its private room is
// told once that irc is down and why, /healthz stays 200 naming irc as
// down with its error, /metrics has ksecbot_transport_down 1; a retry
// (SIGHUP's RetryNow) that works ends the episode with one "back on" line,
// and the announcement waiting for irc goes out there.
func TestNetworkFailsAlone(t *testing.T) {
	h := newHarness(t, "")
	irc := newRefused("irc", transport.Misconfigured(errors.New(`sasl authentication as "ksecbot" failed (904): check sasl_user and the password`)),
		"#kernel-security", "#gentoo-kernel")
	mx := newRecorder("matrix", "!security:example.org", "!public:example.org")
	mxPriv, mxPub := mx.channels[0].Key, mx.channels[1].Key
	h.cfg.HTTP.StatusPage = true
	b, _ := h.start(irc, mx)
	srv := httptest.NewServer(b.HTTP.Handler())
	t.Cleanup(srv.Close)

	mx.waitFor(t, 20*time.Second, "the network-down alert in the Matrix private room", func(m []chat.Outgoing) bool {
		return countContaining(linesIn(m, mxPriv), "cannot use irc") > 0
	})
	waitPolls(t, b, 1)
	id := h.srv.CreateBug(bugzillatest.NewBug{Summary: "sys-kernel/gentoo-sources: announced while irc is down"})
	mx.waitFor(t, 20*time.Second, "the announcement on Matrix", func(m []chat.Outgoing) bool {
		return count(m, fmt.Sprintf("announce/%d/matrix:!public:example.org", id)) == 1
	})
	code, body := health(t, srv.URL)
	t.Logf("/healthz: %d %q", code, body)
	if code != http.StatusOK || !strings.HasPrefix(body, "ok") || !strings.Contains(body, "degraded: irc: down since") || !strings.Contains(body, "sasl authentication") {
		t.Errorf("/healthz with irc refused and matrix up: %d %q, want 200 naming irc down and why", code, body)
	}
	// The status page says it to people the same way.
	if page := get(t, srv.URL+"/"); !strings.Contains(page, `<th scope="row">irc</th><td class="down">down</td><td>down since`) || !strings.Contains(page, "sasl authentication") {
		t.Errorf("the status page does not show irc down and why:\n%s", page)
	}
	if v := scrape(t, srv.URL)[`ksecbot_transport_down{network="irc"}`]; v != 1 {
		t.Errorf(`ksecbot_transport_down{network="irc"} = %v, want 1`, v)
	}
	if v := scrape(t, srv.URL)[`ksecbot_transport_down{network="matrix"}`]; v != 0 {
		t.Errorf(`ksecbot_transport_down{network="matrix"} = %v, want 0`, v)
	}
	if down, err := b.Networks.Down("irc"); !down || !errors.Is(err, transport.ErrConfig) {
		t.Errorf("Networks.Down(irc) = %v, %v; want down for a configuration cause", down, err)
	}

	// Asked again (a reload) while still refused: not told twice.
	runs := irc.runs.Load()
	b.Networks.RetryNow()
	waitUntil(t, 10*time.Second, "a second run of irc after RetryNow", func() bool { return irc.runs.Load() > runs })

	irc.fixed.Store(true)
	b.Networks.RetryNow()
	mx.waitFor(t, 20*time.Second, "the back-on line in the Matrix private room", func(m []chat.Outgoing) bool {
		return countContaining(linesIn(m, mxPriv), "back on irc") > 0
	})
	irc.waitFor(t, 20*time.Second, "the waiting announcement on irc", func(m []chat.Outgoing) bool {
		return count(m, fmt.Sprintf("announce/%d/irc:#gentoo-kernel", id)) == 1
	})
	msgs := mx.waitFor(t, time.Second, "", func([]chat.Outgoing) bool { return true })
	priv := linesIn(msgs, mxPriv)
	if n := countContaining(priv, "cannot use irc"); n != 1 {
		t.Errorf("the Matrix private room was told %d times that irc is down, want once: %q", n, priv)
	}
	for _, l := range priv {
		if strings.Contains(l, "cannot use irc") && (!strings.Contains(l, "sasl authentication") || !strings.Contains(l, "fix the configuration")) {
			t.Errorf("the alert does not say what is wrong and what to do: %q", l)
		}
	}
	if pub := linesIn(msgs, mxPub); countContaining(pub, "cannot use irc")+countContaining(pub, "back on irc") != 0 {
		t.Errorf("the public Matrix room was told about irc: %q", pub)
	}
	if code, body := health(t, srv.URL); code != http.StatusOK || strings.Contains(body, "irc") {
		t.Errorf("/healthz after irc came back: %d %q, want 200 without irc", code, body)
	}
	if n := countContaining(irc.sentLines(), "cannot use irc"); n != 0 {
		t.Errorf("irc's own channels got the alert about irc %d times", n)
	}
}

// When no network can run, Run returns a *bot.NoNetworkError naming each
// network's error; it is a configuration problem (exit 78) only when
// every network's cause is the configuration.
func TestNoNetworkCanRun(t *testing.T) {
	for _, tc := range []struct {
		name     string
		matrix   error
		isConfig bool
	}{
		{"both misconfigured", transport.Misconfigured(errors.New("matrix access token rejected")), true},
		{"one banned", transport.Permanent(errors.New("banned from the server: K-lined")), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, "")
			irc := newRefused("irc", transport.Misconfigured(errors.New("sasl authentication failed")), "#kernel-security")
			mx := newRefused("matrix", tc.matrix, "!security:example.org")
			b, st := h.wire(irc, mx)
			defer st.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			err := b.Run(ctx)
			var nn *bot.NoNetworkError
			if !errors.As(err, &nn) || len(nn.Errs) != 2 {
				t.Fatalf("Run = %v, want a *bot.NoNetworkError naming both networks", err)
			}
			if errors.Is(err, transport.ErrConfig) != tc.isConfig {
				t.Errorf("errors.Is(%v, ErrConfig) = %v, want %v", err, !tc.isConfig, tc.isConfig)
			}
			if !strings.Contains(err.Error(), "irc: sasl") || !strings.Contains(err.Error(), "matrix: ") {
				t.Errorf("error %q should name each network and its error", err)
			}
		})
	}
}

// sentLines returns the plain lines of everything the recorder sent.
func (r *recorder) sentLines() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, m := range r.sent {
		out = append(out, plain([]chat.Outgoing{m})...)
	}
	return out
}

// get returns the body of a GET of url.
func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(body)
}
