// SPDX-License-Identifier: GPL-3.0-or-later

package bugzillatest

import (
	"fmt"
	"time"
)

type demoBug struct {
	pkg, flaw, area, wb, severity string
	ageHours                      int
	status, assignee              string
	cc                            []string
	restricted                    bool
}

// demoBugs are the seeded bugs; index 2 is bug 3, which must stay open and
// unclaimed; exactly one is restricted.
var demoBugs = []demoBug{
	{pkg: "sys-kernel/gentoo-sources", flaw: "use-after-free", area: "net/sched", wb: "A2 [upstream]", severity: "major", ageHours: 140, status: "IN_PROGRESS", assignee: "kernel@gentoo.org"},
	{pkg: "sys-kernel/hardened-sources", flaw: "privilege escalation", area: "io_uring", wb: "A1 [ebuild]", severity: "critical", ageHours: 120, cc: []string{"hardened@gentoo.org"}},
	{pkg: "sys-kernel/gentoo-kernel", flaw: "out-of-bounds write", area: "fs/smb/server (ksmbd)", wb: "B2 [upstream]", severity: "major", ageHours: 100},
	{pkg: "sys-kernel/raspberrypi-sources", flaw: "information leak", area: "drivers/gpu/drm/vc4", wb: "B3 [ebuild]", severity: "normal", ageHours: 90},
	{pkg: "sys-kernel/mips-sources", flaw: "NULL pointer dereference", area: "arch/mips/kernel/ptrace", wb: "C3 [upstream]", severity: "minor", ageHours: 80},
	{pkg: "sys-kernel/rt-sources", flaw: "race condition", area: "kernel/sched/rt", wb: "B2 [ebuild]", severity: "normal", ageHours: 70, assignee: "kernel@gentoo.org"},
	{pkg: "sys-kernel/vanilla-sources", flaw: "double free", area: "net/netfilter/nf_tables", wb: "A2 [upstream]", severity: "major", ageHours: 60},
	{pkg: "sys-kernel/gentoo-sources", flaw: "embargoed local root", area: "mm/hugetlb", wb: "A1 [upstream] [embargoed]", severity: "blocker", ageHours: 50, restricted: true},
	{pkg: "sys-kernel/gentoo-kernel-bin", flaw: "memory leak", area: "net/bluetooth/l2cap", wb: "C4 [upstream]", severity: "trivial", ageHours: 40, status: "RESOLVED"},
	{pkg: "sys-kernel/gentoo-sources", flaw: "integer overflow", area: "drivers/usb/gadget", wb: "B3 [upstream]", severity: "normal", ageHours: 30},
	{pkg: "sys-kernel/hardened-sources", flaw: "use-after-free", area: "fs/ext4", wb: "A3 [ebuild]", severity: "major", ageHours: 20, cc: []string{"hardened@gentoo.org"}},
	{pkg: "sys-kernel/vanilla-sources", flaw: "out-of-bounds read", area: "drivers/net/wireless/ath", wb: "B4 [upstream]", severity: "minor", ageHours: 6},
}

// SeedDemo files a dozen realistic Gentoo kernel security bugs, created
// over the days before now. Bug 3 (if the server had no bugs) is open and
// unclaimed; exactly one bug is restricted to the "security" group.
func SeedDemo(s *Server, now time.Time) {
	for i, d := range demoBugs {
		cve := fmt.Sprintf("CVE-2026-%d", 43001+i*11)
		nb := NewBug{
			Summary:     fmt.Sprintf("%s: %s in %s (%s)", d.pkg, d.flaw, d.area, cve),
			Whiteboard:  d.wb,
			Severity:    d.severity,
			Status:      d.status,
			AssignedTo:  d.assignee,
			Alias:       []string{cve},
			CC:          d.cc,
			Created:     now.Add(-time.Duration(d.ageHours) * time.Hour),
			Creator:     "security@gentoo.org",
			Description: fmt.Sprintf("A %s in %s was fixed upstream. Affected: %s.", d.flaw, d.area, d.pkg),
			URL:         "https://nvd.nist.gov/vuln/detail/" + cve,
		}
		if d.restricted {
			nb.Groups = []string{"security"}
		}
		s.CreateBug(nb)
	}
}

var demoNew = []struct{ pkg, flaw, area, wb, severity string }{
	{"sys-kernel/gentoo-sources", "use-after-free", "net/sched/cls_u32", "A2 [upstream]", "major"},
	{"sys-kernel/hardened-sources", "stack buffer overflow", "drivers/hid", "B2 [upstream]", "normal"},
	{"sys-kernel/raspberrypi-sources", "out-of-bounds write", "drivers/media/platform/bcm2835", "B3 [upstream]", "normal"},
	{"sys-kernel/gentoo-kernel", "privilege escalation", "kernel/bpf/verifier", "A1 [upstream]", "critical"},
	{"sys-kernel/mips-sources", "information leak", "arch/mips/mm", "C3 [upstream]", "minor"},
	{"sys-kernel/rt-sources", "deadlock", "kernel/locking/rtmutex", "C2 [upstream]", "normal"},
	{"sys-kernel/vanilla-sources", "race condition", "fs/io_uring", "A3 [upstream]", "major"},
}

// DemoBug returns the n-th (0-based) "newly filed" bug for the demo's
// periodic filing; it cycles through trees and gets a fresh CVE alias.
func DemoBug(n int) NewBug {
	if n < 0 {
		n = -n
	}
	d := demoNew[n%len(demoNew)]
	cve := fmt.Sprintf("CVE-2026-%d", 50001+n)
	return NewBug{
		Summary:     fmt.Sprintf("%s: %s in %s (%s)", d.pkg, d.flaw, d.area, cve),
		Whiteboard:  d.wb,
		Severity:    d.severity,
		Alias:       []string{cve},
		Creator:     "security@gentoo.org",
		Description: fmt.Sprintf("A %s in %s was reported upstream. Affected: %s.", d.flaw, d.area, d.pkg),
		URL:         "https://nvd.nist.gov/vuln/detail/" + cve,
	}
}
