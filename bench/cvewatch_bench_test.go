// SPDX-License-Identifier: GPL-3.0-or-later

package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/ksecbot/ksecbot/bot"
	"github.com/ksecbot/ksecbot/bugzilla"
	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/config"
	"github.com/ksecbot/ksecbot/store"
	"github.com/ksecbot/ksecbot/transport"
)

// The kernel CVE watch on a clone of the size of the kernel CNA's (about
// 15,000 records): a rescan that finds nothing new, and the cost of one
// new record (read, judged for four trees, stored, its feed line queued).
//
//	go test -tags goolm -run '^$' -bench CVEWatch -benchtime 20x ./bench/
//
// The clone is built from the real records of kernelcve/testdata under
// new ids (15,000 records, each with its .dyad); KSECBOT_VULNS=/path to a
// real clone copies its records instead.

// watchRecords is the size of the clone.
const watchRecords = 15000

// buildWatchClone writes the clone into a temporary directory.
func buildWatchClone() (string, error) {
	dir, err := os.MkdirTemp("", "ksecbot-bench-vulns-")
	if err != nil {
		return "", err
	}
	if src := os.Getenv("KSECBOT_VULNS"); src != "" {
		return dir, copyRecords(src, dir)
	}
	base := filepath.Join("..", "kernelcve", "testdata", "vulns", "cve", "published")
	files, _ := filepath.Glob(filepath.Join(base, "*", "CVE-*.json"))
	if len(files) == 0 {
		return "", fmt.Errorf("no records in %s", base)
	}
	type rec struct{ id, json, dyad []byte }
	var recs []rec
	for _, f := range files {
		j, err := os.ReadFile(f)
		if err != nil {
			return "", err
		}
		d, _ := os.ReadFile(strings.TrimSuffix(f, ".json") + ".dyad")
		recs = append(recs, rec{[]byte(strings.TrimSuffix(filepath.Base(f), ".json")), j, d})
	}
	years := []string{"2021", "2022", "2023", "2024", "2025", "2026"}
	for i := range watchRecords {
		r := recs[i%len(recs)]
		year := years[i%len(years)]
		id := fmt.Sprintf("CVE-%s-%d", year, 100000+i)
		if err := writeRecord(dir, "published", id, bytes.ReplaceAll(r.json, r.id, []byte(id)), bytes.ReplaceAll(r.dyad, r.id, []byte(id))); err != nil {
			return "", err
		}
	}
	return dir, os.MkdirAll(filepath.Join(dir, "cve", "rejected"), 0o755)
}

func writeRecord(dir, folder, id string, json, dyad []byte) error {
	d := filepath.Join(dir, "cve", folder, id[4:8])
	if err := os.MkdirAll(d, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(d, id+".json"), json, 0o644); err != nil {
		return err
	}
	if dyad == nil {
		return nil
	}
	return os.WriteFile(filepath.Join(d, id+".dyad"), dyad, 0o644)
}

// copyRecords copies the JSON and .dyad files of a real clone.
func copyRecords(src, dst string) error {
	files, _ := filepath.Glob(filepath.Join(src, "cve", "*", "*", "CVE-*"))
	for _, f := range files {
		if !strings.HasSuffix(f, ".json") && !strings.HasSuffix(f, ".dyad") {
			continue
		}
		rel, _ := filepath.Rel(src, f)
		data, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dst, rel)), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dst, rel), data, 0o644); err != nil {
			return err
		}
	}
	return os.MkdirAll(filepath.Join(dst, "cve", "rejected"), 0o755)
}

// feedChannel is a transport with one channel that takes the feed and
// drops what it is sent: the benchmark measures the watch, not a network.
type feedChannel struct{}

func (feedChannel) Network() string { return "bench" }
func (feedChannel) Channels() []chat.Channel {
	return []chat.Channel{{Key: "bench:#feed", Network: "bench", Name: "#feed", CVEFeed: true}}
}
func (feedChannel) Run(ctx context.Context, in transport.Inbox) error { <-ctx.Done(); return nil }
func (feedChannel) Send(context.Context, chat.Outgoing) (string, error) {
	return "", nil
}
func (feedChannel) Connected() bool { return true }

// watchBot wires the core on a new database with a clone of its own and
// the real ebuilds of gentoo/testdata, and takes the watch's baseline
// (not timed). The bot is not run: the benchmark calls Scan.
func watchBot(b *testing.B) (*bot.Bot, string, time.Duration) {
	b.Helper()
	clone, err := buildWatchClone()
	if clone != "" {
		b.Cleanup(func() { os.RemoveAll(clone) })
	}
	if err != nil {
		b.Fatal(err)
	}
	cfg, err := config.Parse([]byte("[bugzilla]\nurl = \"http://127.0.0.1:1/\"\n"), "bench.toml")
	if err != nil {
		b.Fatal(err)
	}
	cfg.Trees = cveBenchTrees
	cfg.KernelCVE = &config.KernelCVE{Path: clone, Highlight: config.HighlightAffected, ScanInterval: config.Duration{Duration: time.Hour}}
	cfg.Gentoo = &config.Gentoo{Repo: filepath.Join("..", "gentoo", "testdata", "repo")}
	st, err := store.Open(context.Background(), filepath.Join(b.TempDir(), "ksecbot.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	bz, err := bugzilla.New(bugzilla.Options{BaseURL: cfg.Bugzilla.URL})
	if err != nil {
		b.Fatal(err)
	}
	k, err := bot.Wire(bot.Options{Config: cfg, Store: st, Bugzilla: bz, Transports: []transport.Transport{feedChannel{}},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	res, err := k.CVEWatch.Scan(context.Background())
	if err != nil || !res.Baseline || res.Records < watchRecords-500 {
		b.Fatalf("baseline: %+v %v", res, err)
	}
	return k, clone, time.Since(start)
}

// heapMiB is the heap in use after a GC.
func heapMiB() float64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return float64(ms.HeapInuse) / (1 << 20)
}

func rssMiB() float64 {
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	m, err := parseStatus(raw)
	if err != nil {
		return 0
	}
	return float64(m.rss) / (1 << 20)
}

// BenchmarkCVEWatchRescan15k: a scan of the 15,000-record clone that finds
// nothing new. It reports the time per scan, the heap and RSS held after
// the baseline, how much the RSS and the heap grew over the timed scans
// (after a GC that returns freed memory to the system), and the
// baseline's own time.
func BenchmarkCVEWatchRescan15k(b *testing.B) {
	k, _, baseline := watchBot(b)
	ctx := context.Background()
	k.CVEWatch.Scan(ctx) // warm the directory caches
	debug.FreeOSMemory()
	rss0, heap0 := rssMiB(), heapMiB()
	b.ResetTimer()
	for b.Loop() {
		res, err := k.CVEWatch.Scan(ctx)
		if err != nil || res.New+res.Changed+res.Rejected+res.Rejudged != 0 {
			b.Fatalf("a quiet rescan: %+v %v", res, err)
		}
	}
	b.StopTimer()
	debug.FreeOSMemory()
	b.ReportMetric(rss0, "RSS-MiB-after-baseline")
	b.ReportMetric(rssMiB()-rss0, "RSS-MiB-growth")
	b.ReportMetric(heapMiB()-heap0, "heap-MiB-growth")
	b.ReportMetric(baseline.Seconds(), "baseline-s")
}

// BenchmarkCVEWatchOneNewRecord: a scan that finds one new record (a real
// one under a new id) in the 15,000: listing, reading and judging it,
// storing it with its exposure rows and queuing its feed line. Each
// timed scan follows a quiet one, reported as quiet-scan-ms: the
// difference is what the record costs.
func BenchmarkCVEWatchOneNewRecord(b *testing.B) {
	k, clone, _ := watchBot(b)
	ctx := context.Background()
	src := filepath.Join("..", "kernelcve", "testdata", "vulns", "cve", "published", "2025", "CVE-2025-40039")
	js, _ := os.ReadFile(src + ".json")
	dy, _ := os.ReadFile(src + ".dyad")
	n := 0
	var quiet time.Duration // a quiet scan measured next to each timed one
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		t0 := time.Now()
		if _, err := k.CVEWatch.Scan(ctx); err != nil {
			b.Fatal(err)
		}
		quiet += time.Since(t0)
		id := fmt.Sprintf("CVE-2027-%d", 500000+n)
		n++
		if err := writeRecord(clone, "published", id, bytes.ReplaceAll(js, []byte("CVE-2025-40039"), []byte(id)), bytes.ReplaceAll(dy, []byte("CVE-2025-40039"), []byte(id))); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		res, err := k.CVEWatch.Scan(ctx)
		if err != nil || res.New != 1 || len(res.Announced) != 1 {
			b.Fatalf("scan with one new record: %+v %v", res, err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(quiet.Milliseconds())/float64(n), "quiet-scan-ms")
}
