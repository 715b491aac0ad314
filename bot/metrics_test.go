// SPDX-License-Identifier: GPL-3.0-or-later

package bot_test

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ksecbot/ksecbot/bugzilla/bugzillatest"
	"github.com/ksecbot/ksecbot/chat"
)

// scrape reads /metrics and returns each sample ("name{labels}" exactly as
// exposed, labels sorted by the client library) with its value.
func scrape(t *testing.T, url string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: %s", resp.Status)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			t.Fatalf("/metrics: malformed line %q", line)
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("/metrics: malformed value in %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// waitMetric scrapes until the sample satisfies ok.
func waitMetric(t *testing.T, url, sample string, ok func(v float64, present bool) bool) float64 {
	t.Helper()
	var v float64
	waitUntil(t, 10*time.Second, "metric "+sample, func() bool {
		var present bool
		v, present = scrape(t, url)[sample]
		return ok(v, present)
	})
	return v
}

func health(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func TestMetricsAndHealth(t *testing.T) {
	h := newHarness(t, "")
	h.cfg.Bugzilla.PollInterval.Duration = time.Hour
	rec := newRecorder("test", "#gentoo-kernel", "#gentoo-dev")
	b, st, stop := h.startAt(nil, rec)
	srv := httptest.NewServer(b.HTTP.Handler())
	t.Cleanup(srv.Close)
	waitPolls(t, b, 1)

	const (
		sent        = `ksecbot_messages_sent_total{network="test"}`
		connected   = `ksecbot_transport_connected{network="test"}`
		depth       = `ksecbot_outbox_depth{network="test"}`
		bzReqs      = `ksecbot_bugzilla_requests_total`
		bzErrs      = `ksecbot_bugzilla_errors_total`
		pollSecs    = `ksecbot_poll_duration_seconds`
		polls       = `ksecbot_polls_total`
		announced   = `ksecbot_reaction_seconds{action="announced",quantile="0.5",tree=""}`
		announced90 = `ksecbot_reaction_seconds{action="announced",quantile="0.9",tree=""}`
	)
	m0 := scrape(t, srv.URL)
	for _, name := range []string{connected, depth, bzReqs, bzErrs, pollSecs, polls} {
		if _, ok := m0[name]; !ok {
			t.Errorf("/metrics lacks %s", name)
		}
	}
	if m0[connected] != 1 || m0[depth] != 0 || m0[polls] < 1 || m0[bzReqs] < 1 {
		t.Errorf("at the start: connected %v, outbox %v, polls %v, requests %v; want 1, 0, >=1, >=1", m0[connected], m0[depth], m0[polls], m0[bzReqs])
	}
	if _, ok := m0[announced]; ok {
		t.Errorf("reaction time %s exported before any announcement", announced)
	}
	if code, body := health(t, srv.URL); code != http.StatusOK || !strings.HasPrefix(body, "ok") {
		t.Errorf("/healthz with a connected transport: %d %q, want 200 ok", code, body)
	}

	// The network goes down: health says why, and the outbox fills.
	rec.mu.Lock()
	rec.down = true
	rec.mu.Unlock()
	if code, body := health(t, srv.URL); code != http.StatusServiceUnavailable || !strings.Contains(body, "test: not connected") {
		t.Errorf("/healthz with the only transport down: %d %q, want 503 naming it", code, body)
	}
	if v := scrape(t, srv.URL)[connected]; v != 0 {
		t.Errorf("%s = %v with the transport down, want 0", connected, v)
	}
	id := fileAndFetch(t, h, b, bugzillatest.NewBug{Summary: "sys-kernel/gentoo-sources: counted in the metrics"})[0]
	waitMetric(t, srv.URL, depth, func(v float64, ok bool) bool { return ok && v == 2 })
	if m := scrape(t, srv.URL); m[bzReqs] <= m0[bzReqs] || m[polls] <= m0[polls] {
		t.Errorf("Bugzilla requests %v -> %v, polls %v -> %v: want both to rise", m0[bzReqs], m[bzReqs], m0[polls], m[polls])
	}

	// Back up: the announcement goes out and every figure moves.
	rec.mu.Lock()
	rec.down = false
	rec.mu.Unlock()
	rec.waitFor(t, 10*time.Second, "the announcement in both channels", func(m []chat.Outgoing) bool {
		return count(m, fmt.Sprintf("announce/%d/test:#gentoo-kernel", id)) == 1 && count(m, fmt.Sprintf("announce/%d/test:#gentoo-dev", id)) == 1
	})
	waitDelivered(t, st)
	m1 := scrape(t, srv.URL)
	if m1[sent]-m0[sent] != 2 {
		t.Errorf("%s rose by %v after one announcement in two channels, want 2", sent, m1[sent]-m0[sent])
	}
	if m1[depth] != 0 || m1[connected] != 1 {
		t.Errorf("after delivery: outbox %v, connected %v; want 0 and 1", m1[depth], m1[connected])
	}
	if v, ok := m1[announced]; !ok || v < 0 || v > 3600 {
		t.Errorf("%s = %v (present %v) after an announcement, want a time from filing to announcement", announced, v, ok)
	}
	if _, ok := m1[announced90]; !ok {
		t.Errorf("/metrics lacks %s", announced90)
	}
	if code, _ := health(t, srv.URL); code != http.StatusOK {
		t.Errorf("/healthz after the transport came back: %d, want 200", code)
	}

	// The store is gone: unhealthy, whatever the transports say.
	stop()
	if code, body := health(t, srv.URL); code != http.StatusServiceUnavailable || !strings.Contains(body, "store") {
		t.Errorf("/healthz with the store closed: %d %q, want 503 naming the store", code, body)
	}
}

func TestHealthNeedsOneTransport(t *testing.T) {
	h := newHarness(t, "")
	h.cfg.Bugzilla.PollInterval.Duration = time.Hour
	up, down := newRecorder("irc", "#gentoo-kernel"), newRecorder("matrix", "!room:example.org")
	down.down = true
	b, _, _ := h.startAt(nil, up, down)
	srv := httptest.NewServer(b.HTTP.Handler())
	t.Cleanup(srv.Close)
	code, body := health(t, srv.URL)
	if code != http.StatusOK || !strings.Contains(body, "matrix: not connected") {
		t.Errorf("/healthz with one of two transports down: %d %q, want 200 and the degraded one named", code, body)
	}
	m := scrape(t, srv.URL)
	if m[`ksecbot_transport_connected{network="irc"}`] != 1 || m[`ksecbot_transport_connected{network="matrix"}`] != 0 {
		t.Errorf("transport_connected irc=%v matrix=%v, want 1 and 0", m[`ksecbot_transport_connected{network="irc"}`], m[`ksecbot_transport_connected{network="matrix"}`])
	}
}

// limitedRecorder is the test network with a count of the rate-limit
// answers its network gave (as the Matrix transport reports 429s).
type limitedRecorder struct {
	*recorder
	limited atomic.Int64
}

func (l *limitedRecorder) RateLimited() int64 { return l.limited.Load() }

// A transport's count of rate-limit answers is on /metrics, per network.
func TestRateLimitsInMetrics(t *testing.T) {
	h := newHarness(t, "")
	h.cfg.Bugzilla.PollInterval.Duration = time.Hour
	rec := &limitedRecorder{recorder: newRecorder("test", "#gentoo-kernel")}
	b, _, _ := h.startAt(nil, rec)
	srv := httptest.NewServer(b.HTTP.Handler())
	t.Cleanup(srv.Close)
	const name = `ksecbot_transport_rate_limited_total{network="test"}`
	if v, ok := scrape(t, srv.URL)[name]; !ok || v != 0 {
		t.Errorf("%s = %v (present %v), want 0", name, v, ok)
	}
	rec.limited.Add(3)
	if v := scrape(t, srv.URL)[name]; v != 3 {
		t.Errorf("%s = %v after three 429 answers, want 3", name, v)
	}
}
