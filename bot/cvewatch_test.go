// SPDX-License-Identifier: GPL-3.0-or-later

package bot_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ksecbot/ksecbot/bot"
	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/config"
)

// The real CNA records, and the repository of real ::gentoo ebuilds.
const (
	realRecords = "../kernelcve/testdata/vulns"
	realRepo    = "../gentoo/testdata/repo"
)

// cveTrees: with the ebuilds of realRepo, CVE-2025-40039 affects
// vanilla-sources (6.1.165) and rt-sources (6.1.112), both per its .dyad,
// and neither gentoo-kernel (5.10) nor gentoo-sources (3.x).
var cveTrees = []config.Tree{
	{Name: "gentoo-kernel", Packages: []string{"sys-kernel/gentoo-kernel"}, Handles: map[string][]string{"irc": {"gkmaint"}}},
	{Name: "vanilla-sources", Packages: []string{"sys-kernel/vanilla-sources"}, Handles: map[string][]string{"irc": {"vanmaint"}}},
	{Name: "rt-sources", Packages: []string{"sys-kernel/rt-sources"}, Handles: map[string][]string{"irc": {"rtmaint"}}},
	{Name: "gentoo-sources", Packages: []string{"sys-kernel/gentoo-sources"}, Handles: map[string][]string{"irc": {"gsmaint"}}},
}

// cloneRecords makes a vulns clone in a temporary directory with the real
// records of realRecords, except those named in except.
func cloneRecords(t *testing.T, except ...string) string {
	t.Helper()
	dir := t.TempDir()
	files, _ := filepath.Glob(filepath.Join(realRecords, "cve", "*", "*", "CVE-*"))
	for _, f := range files {
		id := strings.TrimSuffix(strings.TrimSuffix(filepath.Base(f), ".json"), ".dyad")
		if slices.Contains(except, id) {
			continue
		}
		rel, _ := filepath.Rel(realRecords, f)
		copyFile(t, f, filepath.Join(dir, rel))
	}
	os.MkdirAll(filepath.Join(dir, "cve", "rejected"), 0o755)
	return dir
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, to, data)
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// addRecord copies the real record src (JSON and .dyad) into the clone,
// under folder ("published" or "rejected"), as record dst (the id inside
// rewritten): a real record's content under another id.
func addRecord(t *testing.T, clone, folder, src, dst string) {
	t.Helper()
	for _, ext := range []string{".json", ".dyad"} {
		var data []byte
		for _, f := range []string{"published", "rejected"} {
			if b, err := os.ReadFile(filepath.Join(realRecords, "cve", f, src[4:8], src+ext)); err == nil {
				data = b
			}
		}
		if data == nil {
			continue
		}
		data = bytes.ReplaceAll(data, []byte(src), []byte(dst))
		writeFile(t, filepath.Join(clone, "cve", folder, dst[4:8], dst+ext), data)
	}
}

// cveBot runs a bot whose CVE watch scans clone, with a feed channel and
// a channel without the feed; the watch's own loop takes the baseline
// at start and then waits an hour, so the test drives the later scans.
func cveBot(t *testing.T, h *harness, clone string) (*bot.Bot, *recorder, func()) {
	t.Helper()
	h.cfg.Trees = cveTrees
	h.cfg.KernelCVE = &config.KernelCVE{Path: clone, Highlight: config.HighlightAffected, ScanInterval: config.Duration{Duration: time.Hour}}
	h.cfg.Gentoo = &config.Gentoo{Repo: realRepo}
	rec := newRecorder("test", "#feed", "#quiet")
	rec.channels[0].CVEFeed = true
	b, stop := h.start(rec)
	waitUntil(t, 60*time.Second, "the watch's first scan", func() bool { return b.CVEWatch.Scans() > 0 })
	return b, rec, stop
}

// scan runs one scan of the watch.
func scan(t *testing.T, b *bot.Bot) bot.CVEScanResult {
	t.Helper()
	res, err := b.CVEWatch.Scan(context.Background())
	if err != nil {
		t.Fatalf("scan: %v", err)
	}
	return res
}

// cveMsgs are the CVE watch lines a channel got.
func cveMsgs(msgs []chat.Outgoing, channel string) []chat.Outgoing {
	var out []chat.Outgoing
	for _, m := range msgs {
		if m.Kind == chat.KindCVE && m.Channel == channel {
			out = append(out, m)
		}
	}
	return out
}

// mentions are the trees a message highlights.
func mentions(m chat.Outgoing) []string {
	var out []string
	for _, l := range m.Lines {
		for _, s := range l {
			if s.Kind == chat.SpanMention {
				out = append(out, s.Highlight.Tree)
			}
		}
	}
	return out
}

// TestCVEWatchBaselineThenNewRecord: the first scan of a new database is
// silent; a real record added afterwards is announced at the next scan,
// once, in the channel with cve_feed only, highlighting only the trees it
// affects, with their versions and fixes; a restart repeats nothing.
func TestCVEWatchBaselineThenNewRecord(t *testing.T) {
	h := newHarness(t, "")
	clone := cloneRecords(t, "CVE-2025-40039")
	b, rec, stop := cveBot(t, h, clone)
	if res := scan(t, b); res.Baseline || res.Records != 45 || len(res.Announced) != 0 {
		t.Fatalf("the scan after the baseline: %+v", res)
	}
	if got := cveMsgs(rec.sent, "test:#feed"); len(got) != 0 {
		t.Fatalf("the baseline announced %d records: %v", len(got), plain(got))
	}

	addRecord(t, clone, "published", "CVE-2025-40039", "CVE-2025-40039")
	res := scan(t, b)
	if res.New != 1 || !slices.Equal(res.Announced, []string{"CVE-2025-40039"}) || res.Digest {
		t.Fatalf("scan after adding a record: %+v", res)
	}
	msgs := rec.waitFor(t, 5*time.Second, "the feed line", func(m []chat.Outgoing) bool { return len(cveMsgs(m, "test:#feed")) == 1 })
	line := cveMsgs(msgs, "test:#feed")[0]
	txt := strings.Join(line.Plain("irc"), " ")
	t.Logf("feed line: %s", txt)
	for _, want := range []string{"Kernel CVE CVE-2025-40039 ksmbd: Fix race condition in RPC handle list access",
		"vanilla-sources: vanmaint ~6.1.165: no fix in 6.1; fixed in 6.6.123, 6.12.53, 6.17.3, 6.18 (per the .dyad)",
		"rt-sources: rtmaint ~6.1.112: no fix in 6.1; fixed in 6.6.123",
		"unaffected: gentoo-kernel, gentoo-sources", "https://www.cve.org/CVERecord?id=CVE-2025-40039"} {
		if !strings.Contains(txt, want) {
			t.Errorf("feed line lacks %q", want)
		}
	}
	if got := mentions(line); !slices.Equal(got, []string{"vanilla-sources", "rt-sources"}) {
		t.Errorf("highlights %v, want only the affected vanilla-sources and rt-sources", got)
	}
	if res := scan(t, b); res.New+res.Changed+len(res.Announced) != 0 {
		t.Errorf("a scan with nothing new: %+v", res)
	}
	stop()
	b2, _ := h.start(rec)
	waitUntil(t, 30*time.Second, "the first scan after the restart", func() bool { return b2.CVEWatch.Scans() > 0 })
	if res := scan(t, b2); res.Baseline || res.New != 0 || len(res.Announced) != 0 {
		t.Errorf("after a restart: %+v", res)
	}
	if n := len(cveMsgs(rec.sent, "test:#feed")); n != 1 {
		t.Errorf("the record was announced %d times across a restart", n)
	}
	if n := len(cveMsgs(rec.sent, "test:#quiet")); n != 0 {
		t.Errorf("the channel without cve_feed got %d lines", n)
	}
}

// TestCVEWatchBurstIsADigest: 300 records in one pull become one digest
// per channel (a head line and one line per affected tree, each tree
// highlighted once), not 300 lines.
func TestCVEWatchBurstIsADigest(t *testing.T) {
	h := newHarness(t, "")
	clone := cloneRecords(t)
	b, rec, _ := cveBot(t, h, clone)
	// Real records under new ids: the ksmbd one (vanilla-sources and
	// rt-sources, per its .dyad), the qla2xxx one (gentoo-kernel and
	// rt-sources) and the igb one (no tree).
	srcs := []string{"CVE-2025-40039", "CVE-2025-71238", "CVE-2024-36010"}
	for i := range 300 {
		addRecord(t, clone, "published", srcs[i%3], fmt.Sprintf("CVE-2026-9%04d", i))
	}
	res := scan(t, b)
	if res.New != 300 || len(res.Announced) != 200 || res.Others != 100 || !res.Digest {
		t.Fatalf("burst scan: new %d, announced %d, affecting none %d, digest %v", res.New, len(res.Announced), res.Others, res.Digest)
	}
	msgs := rec.waitFor(t, 10*time.Second, "the digest", func(m []chat.Outgoing) bool { return len(cveMsgs(m, "test:#feed")) >= 1 })
	feed := cveMsgs(msgs, "test:#feed")
	if len(feed) != 1 {
		t.Fatalf("%d messages for a burst of 300, want one digest: %v", len(feed), plain(feed))
	}
	d := feed[0]
	lines := d.Plain("irc")
	t.Logf("digest: %q", lines)
	if len(lines) != 4 || !strings.Contains(lines[0], "Kernel CVE watch: 200 new or changed kernel CVE records affect trees here (100 more affect none)") {
		t.Errorf("digest lines %q: want a head line and one per affected tree (3)", lines)
	}
	if got := mentions(d); !slices.Equal(got, []string{"gentoo-kernel", "vanilla-sources", "rt-sources"}) {
		t.Errorf("digest highlights %v", got)
	}
	for _, want := range []string{"gentoo-kernel: gkmaint 100 CVEs of them · gentoo-kernel 5.10.250: 100 CVEs · bump to 5.10.251 fixes 100 of 100",
		"rt-sources: rtmaint 200 CVEs of them", "!exposure rt-sources"} {
		if !strings.Contains(strings.Join(lines, "\n"), want) {
			t.Errorf("digest lacks %q", want)
		}
	}
	if len(d.Detail) != 200 {
		t.Errorf("digest detail has %d lines, want one per record that affects a tree (200)", len(d.Detail))
	}
}

// TestCVEWatchRejectedAndChanged: an announced record that the CNA
// rejects gets one follow-up line; a record rejected before it was ever
// announced gets none; a record that changes so that it affects a tree
// it did not is announced again as updated, highlighting only that tree.
func TestCVEWatchRejectedAndChanged(t *testing.T) {
	h := newHarness(t, "")
	clone := cloneRecords(t)
	b, rec, _ := cveBot(t, h, clone)
	addRecord(t, clone, "published", "CVE-2025-40039", "CVE-2026-80001") // affects trees: announced
	addRecord(t, clone, "published", "CVE-2024-36010", "CVE-2026-80002") // affects none: silent
	if res := scan(t, b); !slices.Equal(res.Announced, []string{"CVE-2026-80001"}) || res.Others != 1 {
		t.Fatalf("first scan: %+v", res)
	}
	// Both rejected: only the announced one gets a follow-up.
	for _, id := range []string{"CVE-2026-80001", "CVE-2026-80002"} {
		for _, ext := range []string{".json", ".dyad"} {
			from := filepath.Join(clone, "cve", "published", "2026", id+ext)
			to := filepath.Join(clone, "cve", "rejected", "2026", id+ext)
			os.MkdirAll(filepath.Dir(to), 0o755)
			os.Rename(from, to)
		}
	}
	if res := scan(t, b); res.Rejected != 2 || !slices.Equal(res.FollowUps, []string{"CVE-2026-80001"}) {
		t.Fatalf("rejection scan: %+v", res)
	}
	msgs := rec.waitFor(t, 5*time.Second, "the follow-up", func(m []chat.Outgoing) bool { return len(cveMsgs(m, "test:#feed")) == 2 })
	follow := strings.Join(cveMsgs(msgs, "test:#feed")[1].Plain("irc"), " ")
	if !strings.Contains(follow, "Kernel CVE CVE-2026-80001 was rejected by the kernel CNA") || len(mentions(cveMsgs(msgs, "test:#feed")[1])) != 0 {
		t.Errorf("follow-up %q", follow)
	}
	// A record that affected no tree changes to one that affects
	// gentoo-kernel and rt-sources (the qla2xxx record's content).
	addRecord(t, clone, "published", "CVE-2024-36010", "CVE-2026-80003")
	scan(t, b)
	later := time.Now().Add(time.Minute)
	addRecord(t, clone, "published", "CVE-2025-71238", "CVE-2026-80003")
	os.Chtimes(filepath.Join(clone, "cve", "published", "2026", "CVE-2026-80003.json"), later, later)
	if res := scan(t, b); res.Changed != 1 || !slices.Equal(res.Announced, []string{"CVE-2026-80003"}) {
		t.Fatalf("change scan: %+v", res)
	}
	msgs = rec.waitFor(t, 5*time.Second, "the update", func(m []chat.Outgoing) bool { return len(cveMsgs(m, "test:#feed")) == 3 })
	upd := cveMsgs(msgs, "test:#feed")[2]
	if txt := strings.Join(upd.Plain("irc"), " "); !strings.Contains(txt, "Kernel CVE updated: CVE-2026-80003 scsi: qla2xxx") {
		t.Errorf("update line %q", txt)
	}
	if got := mentions(upd); !slices.Equal(got, []string{"gentoo-kernel", "rt-sources"}) {
		t.Errorf("update highlights %v", got)
	}
	// Rewritten with the same content (a checkout): nothing.
	os.Chtimes(filepath.Join(clone, "cve", "published", "2026", "CVE-2026-80003.json"), later.Add(time.Minute), later.Add(time.Minute))
	if res := scan(t, b); res.Changed != 0 || len(res.Announced) != 0 {
		t.Errorf("a rewritten, unchanged record: %+v", res)
	}
}

// TestCVEWatchUnreadableRecord: a FIFO named like a record does not hang
// the scan; it is skipped (and logged) while the other new records are
// announced.
func TestCVEWatchUnreadableRecord(t *testing.T) {
	h := newHarness(t, "")
	clone := cloneRecords(t)
	b, rec, _ := cveBot(t, h, clone)
	fifo := filepath.Join(clone, "cve", "published", "2026", "CVE-2026-80010.json")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skipf("no FIFO here: %v", err)
	}
	addRecord(t, clone, "published", "CVE-2025-40039", "CVE-2026-80011")
	done := make(chan bot.CVEScanResult, 1)
	go func() { done <- scan(t, b) }()
	var res bot.CVEScanResult
	select {
	case res = <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("the scan hangs on a FIFO named like a record")
	}
	if res.Unreadable != 1 || !slices.Equal(res.Announced, []string{"CVE-2026-80011"}) {
		t.Errorf("scan: %+v", res)
	}
	rec.waitFor(t, 5*time.Second, "the other record's line", func(m []chat.Outgoing) bool { return len(cveMsgs(m, "test:#feed")) == 1 })
}

// TestExposureCommand: !exposure answers from what the watch keeps: per
// current version the CVEs affecting it, grouped by the release that
// fixes them, and the stabilise hint; without a tree, the count per tree.
func TestExposureCommand(t *testing.T) {
	h := newHarness(t, "")
	b, rec, _ := cveBot(t, h, cloneRecords(t))
	ch := rec.channels[1]
	ch.Terse = true // lines, not a table
	who := chat.Identity{Network: "test", Nick: "maint"}
	got := ask(t, b.Live.Router(), ch, who, "!exposure gentoo-kernel")
	t.Logf("!exposure gentoo-kernel:\n%s", got)
	for _, want := range []string{"gentoo-kernel: 16 published kernel CVEs affect its current versions (of 42 published records)",
		"gentoo-kernel ~5.10.255: 14 CVEs · bump to 5.10.258 fixes 1 of 14 · no fix in 5.10 yet for 13",
		"gentoo-kernel 5.10.250: 16 CVEs · bump to 5.10.251", "~5.10.255 in the tree fixes 2 of them: stabilise"} {
		if !strings.Contains(got, want) {
			t.Errorf("!exposure gentoo-kernel lacks %q", want)
		}
	}
	all := ask(t, b.Live.Router(), ch, who, "!exposure")
	for _, want := range []string{"gentoo-kernel 16 (5.10.250: 16)", "rt-sources 24 (~6.1.112: 23)"} {
		if !strings.Contains(all, want) {
			t.Errorf("!exposure lacks %q:\n%s", want, all)
		}
	}
	table := ask(t, b.Live.Router(), rec.channels[1], who, "!exposure")
	if !strings.Contains(table, "tree | CVEs | most exposed version\ngentoo-kernel | 16 | 5.10.250: 16\n") {
		t.Errorf("!exposure off IRC is not a table:\n%s", table)
	}
	if got := ask(t, b.Live.Router(), ch, who, "!exposure zen"); !strings.Contains(got, "I know no tree") {
		t.Errorf("unknown tree: %s", got)
	}
}

// TestStatusPageExposure: the status page shows each tree's exposure at
// its newest stable version from what the watch keeps.
func TestStatusPageExposure(t *testing.T) {
	h := newHarness(t, "")
	h.cfg.HTTP.StatusPage = true
	b, _, _ := cveBot(t, h, cloneRecords(t))
	w := httptest.NewRecorder()
	b.HTTP.Handler().ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
	page := w.Body.String()
	for _, want := range []string{
		"Kernel CVEs affecting the newest stable version gentoo-kernel 5.10.250: <strong>16</strong>; 5.10.258 would fix 3 of them. <span class=\"note\">~5.10.255 in the tree fixes 2 of them: stabilise</span>",
		"<span class=\"note\">no stable version</span>",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("status page lacks %q", want)
		}
	}
}
