// SPDX-License-Identifier: GPL-3.0-or-later

package main

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/ksecbot/ksecbot/bugzilla"
	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/config"
	"github.com/ksecbot/ksecbot/cvereport"
	"github.com/ksecbot/ksecbot/gentoo"
	"github.com/ksecbot/ksecbot/kernelcve"
	"github.com/ksecbot/ksecbot/policy"
)

// The kernel CVE lookup one announcement costs: the bug's CVE ids, their
// records (real CNA records), every tree's versions (real ::gentoo
// ebuilds) and the verdicts. Cold: fresh caches (first announcement after
// a start, a git pull or an emerge --sync); cached: records and ebuild
// lists unchanged since the last announcement (one stat per record and
// per ebuild).
//
//	go test -run '^$' -bench CVE -benchmem ./bench/

var cveBenchTrees = []config.Tree{
	{Name: "gentoo-kernel", Packages: []string{"sys-kernel/gentoo-kernel"}},
	{Name: "vanilla-sources", Packages: []string{"sys-kernel/vanilla-sources"}},
	{Name: "rt-sources", Packages: []string{"sys-kernel/rt-sources"}},
	{Name: "gentoo-sources", Packages: []string{"sys-kernel/gentoo-sources"}},
}

func cveAnnotator(highlight string) *cvereport.Annotator {
	return &cvereport.Annotator{
		Checker: &cvereport.Checker{
			Store: kernelcve.NewStore(filepath.Join("..", "kernelcve", "testdata", "vulns")),
			Repo:  gentoo.NewRepo(filepath.Join("..", "gentoo", "testdata", "repo")),
		},
		Trees: cveBenchTrees, Highlight: highlight,
	}
}

var (
	oneCVE    = &bugzilla.Bug{ID: 1, Alias: []string{"CVE-2025-71238"}, Summary: "kernel: scsi: qla2xxx: double free"}
	threeCVEs = &bugzilla.Bug{ID: 2, Alias: []string{"CVE-2025-71238"}, Summary: "kernel: CVE-2026-64108 and CVE-2024-53204",
		SeeAlso: []string{"https://nvd.nist.gov/vuln/detail/CVE-2026-64108"}}
)

func benchAnnotate(b *testing.B, one *bugzilla.Bug, cold bool) {
	// the announcement of a bug shown in full, as a private channel sees it
	bug, _ := (&policy.Policy{}).See(one, chat.Channel{Key: "irc:#s", Private: true}, policy.Announce).Full()
	a := cveAnnotator(config.HighlightAffected)
	if _, ok := a.AnnotateBug(bug); !ok {
		b.Fatal("no CVE note: the test records are missing")
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if cold {
			b.StopTimer()
			a = cveAnnotator(config.HighlightAffected)
			b.StartTimer()
		}
		if _, ok := a.AnnotateBug(bug); !ok {
			b.Fatal("no CVE note")
		}
	}
}

func BenchmarkCVEAnnounceCold1(b *testing.B)   { benchAnnotate(b, oneCVE, true) }
func BenchmarkCVEAnnounceCached1(b *testing.B) { benchAnnotate(b, oneCVE, false) }
func BenchmarkCVEAnnounceCold3(b *testing.B)   { benchAnnotate(b, threeCVEs, true) }
func BenchmarkCVEAnnounceCached3(b *testing.B) { benchAnnotate(b, threeCVEs, false) }

// BenchmarkCVEMemory reports the memory the feature holds with every test
// record cached (41 records, 4 trees): heap in use and the process RSS
// after a GC, next to the same figures before the first lookup.
func BenchmarkCVEMemory(b *testing.B) {
	files, _ := filepath.Glob(filepath.Join("..", "kernelcve", "testdata", "vulns", "cve", "*", "*", "CVE-*.json"))
	if len(files) == 0 {
		b.Fatal("no records")
	}
	heap := func() float64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return float64(ms.HeapInuse)
	}
	rss := func() float64 {
		raw, err := os.ReadFile("/proc/self/status")
		if err != nil {
			return 0
		}
		m, err := parseStatus(raw)
		if err != nil {
			return 0
		}
		return float64(m.rss)
	}
	heap0, rss0 := heap(), rss()
	a := cveAnnotator(config.HighlightAffected)
	for b.Loop() {
		for _, f := range files {
			id := filepath.Base(f)
			id = id[:len(id)-len(".json")]
			a.Checker.Report(id, cveBenchTrees)
		}
	}
	b.ReportMetric(heap()-heap0, "heap-B-held")
	b.ReportMetric(rss()/(1<<20), "RSS-MiB")
	b.ReportMetric(rss0/(1<<20), "RSS-MiB-before")
	runtime.KeepAlive(a)
}
