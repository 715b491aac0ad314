// SPDX-License-Identifier: GPL-3.0-or-later

package bot_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ksecbot/ksecbot/bugzilla/bugzillatest"
	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/config"
)

// TestStatsCountsQuieterAnnouncements: !stats says how many bugs named a
// kernel CVE and how many tree highlights the verdicts spared.
func TestStatsCountsQuieterAnnouncements(t *testing.T) {
	h := newHarness(t, "")
	h.cfg.Trees = []config.Tree{
		{Name: "gentoo-kernel", Packages: []string{"sys-kernel/gentoo-kernel"}, Handles: map[string][]string{"irc": {"gkmaint"}}},
		{Name: "vanilla-sources", Packages: []string{"sys-kernel/vanilla-sources"}, Handles: map[string][]string{"irc": {"vanmaint"}}},
		{Name: "gentoo-sources", Packages: []string{"sys-kernel/gentoo-sources"}, Handles: map[string][]string{"irc": {"gsmaint"}}},
	}
	h.cfg.KernelCVE = &config.KernelCVE{Path: "../kernelcve/testdata/vulns", Highlight: config.HighlightAffected}
	h.cfg.Gentoo = &config.Gentoo{Repo: "../gentoo/testdata/repo"}
	rec := newRecorder("test", "#gentoo-kernel")
	b, _ := h.start(rec)
	waitPolls(t, b, 1)
	ch := rec.channels[0]
	withCVE := h.srv.CreateBug(bugzillatest.NewBug{Summary: "kernel: qla2xxx double free", Alias: []string{"CVE-2025-71238"}})
	plain := h.srv.CreateBug(bugzillatest.NewBug{Summary: "kernel: no CVE yet"})
	rec.waitFor(t, 5*time.Second, "both announcements", func(m []chat.Outgoing) bool {
		return count(m, fmt.Sprintf("announce/%d/test:#gentoo-kernel", withCVE)) == 1 && count(m, fmt.Sprintf("announce/%d/test:#gentoo-kernel", plain)) == 1
	})
	// CVE-2025-71238: vanilla-sources fixed, gentoo-sources unaffected.
	want := "Kernel CVE verdicts: 1 of 2 bugs named a kernel CVE; 1 pinged fewer trees (2 highlights of fixed or unaffected trees spared)."
	waitUntil(t, 5*time.Second, "!stats to count the quieter announcement", func() bool {
		return strings.Contains(ask(t, b.Live.Router(), ch, chat.Identity{Network: "test", Nick: "watcher"}, "!stats 7"), want)
	})
}
