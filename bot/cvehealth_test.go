// SPDX-License-Identifier: GPL-3.0-or-later

package bot_test

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ksecbot/ksecbot/bot"
	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/config"
	"github.com/ksecbot/ksecbot/internal/fakeclock"
)

// cveHealthBot runs a bot on clock whose CVE watch scans clone (its own
// loop takes the first scan at start, then waits an hour), with the
// status page on and its log (info and up) in logs; it returns the bot
// and the URL of its HTTP side.
func cveHealthBot(t *testing.T, clone string, clock *fakeclock.Clock, logs *syncBuffer) (*bot.Bot, string) {
	t.Helper()
	h := newHarness(t, "")
	h.cfg.Bugzilla.PollInterval.Duration = time.Hour
	h.cfg.HTTP.StatusPage = true
	h.cfg.Trees = cveTrees
	h.cfg.KernelCVE = &config.KernelCVE{Path: clone, Highlight: config.HighlightAffected, ScanInterval: config.Duration{Duration: time.Hour}}
	h.cfg.Gentoo = &config.Gentoo{Repo: realRepo}
	h.infoLog = logs
	b, _, _ := h.startAt(clock, newRecorder("test", "#feed"))
	waitUntil(t, 60*time.Second, "the watch's first scan", func() bool { return b.CVEWatch.Scans() > 0 })
	srv := httptest.NewServer(b.HTTP.Handler())
	t.Cleanup(srv.Close)
	return b, srv.URL
}

// cveHealthRow is the status page's health row of the kernel CVE data.
func cveHealthRow(t *testing.T, url string) string {
	t.Helper()
	body := get(t, url+"/")
	row := regexp.MustCompile(`<tr><th scope="row">Kernel CVE data</th>.*</tr>`).FindString(body)
	if row == "" {
		t.Fatalf("the status page's health table has no Kernel CVE data row:\n%s", body)
	}
	return row
}

// TestCVEScanFailuresInHealth: the CVE watch's failing scans (a clone
// gone, then an empty one) and its unreadable records (a dangling
// symlink) are in /healthz ("degraded: kernel CVE data: ..."), /metrics
// and the status page's health table while they last, logged once per
// episode, and gone after the next successful scan.
func TestCVEScanFailuresInHealth(t *testing.T) {
	clone := cloneRecords(t)
	clock := fakeclock.New(time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC))
	var logs syncBuffer
	b, url := cveHealthBot(t, clone, clock, &logs)
	m := scrape(t, url)
	if m["ksecbot_cve_last_scan_success_timestamp_seconds"] != float64(clock.Now().Unix()) || m["ksecbot_cve_scan_errors_total"] != 0 || m["ksecbot_cve_scan_failing"] != 0 {
		t.Errorf("metrics after the baseline: success %v, errors %v, failing %v", m["ksecbot_cve_last_scan_success_timestamp_seconds"],
			m["ksecbot_cve_scan_errors_total"], m["ksecbot_cve_scan_failing"])
	}
	if code, body := health(t, url); code != 200 || strings.Contains(body, "kernel CVE") {
		t.Errorf("/healthz after the baseline: %d %q", code, body)
	}
	if row := cveHealthRow(t, url); !strings.Contains(row, `<td class="ok">ok</td>`) || !strings.Contains(row, "Last successful scan 2026-12-01 10:00:00 UTC.") {
		t.Errorf("status page row after the baseline: %s", row)
	}

	// The clone's records are gone (a botched re-clone): two scans fail.
	published := filepath.Join(clone, "cve", "published")
	if err := os.Rename(published, published+".away"); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		clock.Advance(time.Hour)
		if _, err := b.CVEWatch.Scan(context.Background()); err == nil {
			t.Fatal("a scan of a clone without cve/published worked")
		}
	}
	code, body := health(t, url)
	if code != 200 || !strings.Contains(body, "degraded: kernel CVE data: scans failing since 2026-12-01 11:00:00 UTC: vulns clone "+clone) ||
		!strings.Contains(body, "(clone the kernel CNA's vulns repository there: git clone https://git.kernel.org/pub/scm/linux/security/vulns.git "+clone+")") ||
		!strings.Contains(body, "the last successful scan was at 2026-12-01 10:00:00 UTC") {
		t.Errorf("/healthz with the clone gone: %d %q", code, body)
	}
	m = scrape(t, url)
	if m["ksecbot_cve_scan_errors_total"] != 2 || m["ksecbot_cve_scan_failing"] != 1 {
		t.Errorf("metrics with the clone gone: errors %v, failing %v", m["ksecbot_cve_scan_errors_total"], m["ksecbot_cve_scan_failing"])
	}
	row := cveHealthRow(t, url)
	if !strings.Contains(row, `<td class="degraded">degraded</td>`) || !strings.Contains(row, "scans failing since 2026-12-01 11:00:00 UTC (/healthz says why).") ||
		strings.Contains(row, clone) {
		t.Errorf("status page row with the clone gone (public: no path): %s", row)
	}

	// An empty clone: still the same episode, now for another reason.
	if err := os.MkdirAll(published, 0o755); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Hour)
	if _, err := b.CVEWatch.Scan(context.Background()); err == nil {
		t.Fatal("a scan of an empty clone worked")
	}
	if _, body := health(t, url); !strings.Contains(body, "scans failing since 2026-12-01 11:00:00 UTC: vulns clone "+clone+": cve/published holds no record: an empty or unfinished clone") {
		t.Errorf("/healthz with an empty clone: %q", body)
	}

	// Back, with a dangling symlink named like a record: the scan works
	// and the record is named.
	os.Remove(published)
	if err := os.Rename(published+".away", published); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../../../nowhere/CVE-2026-80020.json", filepath.Join(published, "2026", "CVE-2026-80020.json")); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Hour)
	if res := scan(t, b); res.Unreadable != 1 {
		t.Errorf("scan with a dangling symlink: %+v", res)
	}
	code, body = health(t, url)
	if code != 200 || strings.Contains(body, "scans failing") ||
		!strings.Contains(body, "degraded: kernel CVE data: 1 record cannot be read and is left out (read again at every scan): CVE-2026-80020: ") ||
		!strings.Contains(body, "CVE-2026-80020.json is a dangling symlink") {
		t.Errorf("/healthz with a dangling symlink: %d %q", code, body)
	}
	m = scrape(t, url)
	if m["ksecbot_cve_scan_failing"] != 0 || m["ksecbot_cve_unreadable_records"] != 1 || m["ksecbot_cve_scan_errors_total"] != 3 ||
		m["ksecbot_cve_last_scan_success_timestamp_seconds"] != float64(clock.Now().Unix()) {
		t.Errorf("metrics with a dangling symlink: %v", m)
	}
	if row := cveHealthRow(t, url); !strings.Contains(row, "1 record cannot be read and is left out (/healthz names it).") ||
		!strings.Contains(row, "Last successful scan 2026-12-01 14:00:00 UTC.") {
		t.Errorf("status page row with a dangling symlink: %s", row)
	}

	os.Remove(filepath.Join(published, "2026", "CVE-2026-80020.json"))
	clock.Advance(time.Hour)
	scan(t, b)
	if code, body := health(t, url); code != 200 || strings.Contains(body, "kernel CVE") {
		t.Errorf("/healthz after the repair: %d %q", code, body)
	}
	log := logs.String()
	for what, want := range map[string]int{"kernel CVE scan failed;": 1, "kernel CVE scans still fail, now for another reason": 1, "kernel CVE scans work again": 1,
		"kernel CVE record skipped": 1} {
		if n := strings.Count(log, what); n != want {
			t.Errorf("log has %q %d times, want %d:\n%s", what, n, want, log)
		}
	}
}

// TestCVEScanGitStuck: a clone git is updating (.git/index.lock) only
// postpones the scan, until it has been so for 10 minutes: then the scans
// count as failing, saying what to do.
func TestCVEScanGitStuck(t *testing.T) {
	clone := cloneRecords(t)
	clock := fakeclock.New(time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC))
	var logs syncBuffer
	b, url := cveHealthBot(t, clone, clock, &logs)
	writeFile(t, filepath.Join(clone, ".git", "index.lock"), nil)
	for _, d := range []time.Duration{time.Minute, 8 * time.Minute} {
		clock.Advance(d)
		b.CVEWatch.Scan(context.Background())
		if _, body := health(t, url); strings.Contains(body, "kernel CVE") {
			t.Errorf("/healthz %s into a git pull: %q", d, body)
		}
	}
	clock.Advance(2 * time.Minute)
	b.CVEWatch.Scan(context.Background())
	if _, body := health(t, url); !strings.Contains(body, "degraded: kernel CVE data: scans failing since 2026-12-01 10:11:00 UTC: vulns clone "+clone+
		": git has been updating the clone since 2026-12-01 10:01:00 UTC: a git pull that hangs, or a crashed one that left .git/index.lock behind (remove that file if no git runs)") {
		t.Errorf("/healthz after 10 minutes of a git pull: %q", body)
	}
	if m := scrape(t, url); m["ksecbot_cve_scan_errors_total"] != 1 {
		t.Errorf("failed scans counted: %v, want 1 (the postponed ones do not count)", m["ksecbot_cve_scan_errors_total"])
	}
	os.Remove(filepath.Join(clone, ".git", "index.lock"))
	clock.Advance(time.Minute)
	scan(t, b)
	if _, body := health(t, url); strings.Contains(body, "kernel CVE") {
		t.Errorf("/healthz after the pull: %q", body)
	}
}

// TestExposureDuringFirstScan: !exposure asked while the first scan of a
// fresh database is under way says so, not an answer from the part of
// the records stored so far; after it, the full answer. A watch that
// cannot scan at all says that it fails.
func TestExposureDuringFirstScan(t *testing.T) {
	h := newHarness(t, "")
	h.cfg.Bugzilla.PollInterval.Duration = time.Hour
	h.cfg.Trees = cveTrees
	h.cfg.KernelCVE = &config.KernelCVE{Path: cloneRecords(t), Highlight: config.HighlightAffected, ScanInterval: config.Duration{Duration: time.Hour}}
	h.cfg.Gentoo = &config.Gentoo{Repo: realRepo}
	rec := newRecorder("test", "#feed")
	b, st := h.wire(rec)
	paused, resume := make(chan struct{}), make(chan struct{})
	first := true
	b.CVEWatch.PauseBaseline(5, func() {
		if first {
			first = false
			close(paused)
			<-resume
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
		st.Close()
	})
	select {
	case <-paused:
	case <-time.After(30 * time.Second):
		t.Fatal("the baseline never stored its first records")
	}
	ch := rec.channels[0]
	ch.Terse = true
	who := chat.Identity{Network: "test", Nick: "maint"}
	got := ask(t, b.Live.Router(), ch, who, "!exposure gentoo-kernel")
	if !regexp.MustCompile(`^The first scan of the kernel CVE data is under way \(started \d+ s ago\); ask again when it is done, in a few seconds\.$`).MatchString(got) {
		t.Errorf("!exposure during the first scan: %q", got)
	}
	srv := httptest.NewServer(b.HTTP.Handler())
	t.Cleanup(srv.Close)
	if code, body := health(t, srv.URL); code != 200 || strings.Contains(body, "kernel CVE") {
		t.Errorf("/healthz during the first scan: %d %q", code, body)
	}
	close(resume)
	waitUntil(t, 30*time.Second, "the first scan", func() bool { return b.CVEWatch.Scans() > 0 })
	if got := ask(t, b.Live.Router(), ch, who, "!exposure gentoo-kernel"); !strings.Contains(got, "gentoo-kernel: 16 published kernel CVEs affect its current versions (of 42 published records)") {
		t.Errorf("!exposure after the first scan: %q", got)
	}

	// A fresh database and a clone that cannot be read.
	h2 := newHarness(t, "")
	h2.cfg.Trees = cveTrees
	h2.cfg.KernelCVE = &config.KernelCVE{Path: filepath.Join(t.TempDir(), "vulns"), ScanInterval: config.Duration{Duration: time.Hour}}
	h2.cfg.Gentoo = &config.Gentoo{Repo: realRepo}
	rec2 := newRecorder("test", "#feed")
	b2, _ := h2.start(rec2)
	waitUntil(t, 30*time.Second, "the first scan", func() bool { return b2.CVEWatch.Scans() > 0 })
	if got := ask(t, b2.Live.Router(), rec2.channels[0], who, "!exposure"); !strings.Contains(got, "The kernel CVE watch cannot scan the kernel CNA's vulns clone (failing since ") ||
		!strings.Contains(got, "the operator sees why in /healthz and the log.") {
		t.Errorf("!exposure with a clone that cannot be read: %q", got)
	}
}
