// SPDX-License-Identifier: GPL-3.0-or-later

package bugzillatest

import (
	"fmt"
	"time"
)

type demoBug struct {
	pkg, flaw, area, wb, severity string
	cve                           string // a real kernel CNA record (ksecbot demo ships it)
	ageHours                      int
	status, assignee              string
	cc                            []string
	restricted                    bool
}

// demoBugs are the seeded bugs; index 2 is bug 3, which must stay open and
// unclaimed; exactly one is restricted. Each names a real kernel CVE whose
// record ksecbot demo ships (cmd/ksecbot/demodata), so !cve answers with
// each tree's verdict.
var demoBugs = []demoBug{
	{pkg: "sys-kernel/gentoo-sources", flaw: "double free", area: "drivers/scsi/qla2xxx (bsg_done)", cve: "CVE-2025-71238", wb: "A2 [upstream]", severity: "major", ageHours: 140, status: "IN_PROGRESS", assignee: "kernel@gentoo.org"},
	{pkg: "sys-kernel/hardened-sources", flaw: "refcount underflow", area: "fs/ext4 (EA inodes)", cve: "CVE-2025-40190", wb: "A1 [ebuild]", severity: "critical", ageHours: 120, cc: []string{"hardened@gentoo.org"}},
	{pkg: "sys-kernel/gentoo-kernel", flaw: "use-after-free", area: "net/batman-adv (tp_meter)", cve: "CVE-2026-46206", wb: "B2 [upstream]", severity: "major", ageHours: 100},
	{pkg: "sys-kernel/raspberrypi-sources", flaw: "out-of-bounds read", area: "drivers/staging/rtl8723bs", cve: "CVE-2026-64536", wb: "B3 [ebuild]", severity: "normal", ageHours: 90},
	{pkg: "sys-kernel/mips-sources", flaw: "reference leak", area: "drivers/thermal (thermal_core)", cve: "CVE-2023-53012", wb: "C3 [upstream]", severity: "minor", ageHours: 80},
	{pkg: "sys-kernel/rt-sources", flaw: "verifier bypass", area: "kernel/bpf (precision tracking)", cve: "CVE-2023-52920", wb: "B2 [ebuild]", severity: "normal", ageHours: 70, assignee: "kernel@gentoo.org"},
	{pkg: "sys-kernel/vanilla-sources", flaw: "RST handling flaw", area: "net/ipv4/tcp (SYN-RECEIVED)", cve: "CVE-2026-68118", wb: "A2 [upstream]", severity: "major", ageHours: 60},
	{pkg: "sys-kernel/gentoo-sources", flaw: "embargoed local root", area: "mm (deferred split queue)", cve: "CVE-2026-46017", wb: "A1 [upstream] [embargoed]", severity: "blocker", ageHours: 50, restricted: true},
	{pkg: "sys-kernel/gentoo-kernel-bin", flaw: "use-after-free", area: "net/netfilter/nf_tables", cve: "CVE-2024-56655", wb: "C4 [upstream]", severity: "trivial", ageHours: 40, status: "RESOLVED"},
	{pkg: "sys-kernel/gentoo-sources", flaw: "race condition", area: "drivers/usb/gadget (functionfs)", cve: "CVE-2025-71074", wb: "B3 [upstream]", severity: "normal", ageHours: 30},
	{pkg: "sys-kernel/hardened-sources", flaw: "namespace confusion", area: "net/sctp (sysctl auth_enable)", cve: "CVE-2025-21638", wb: "A3 [ebuild]", severity: "major", ageHours: 20, cc: []string{"hardened@gentoo.org"}},
	{pkg: "sys-kernel/vanilla-sources", flaw: "sleepable program in atomic context", area: "kernel/bpf (BPF_LSM_CGROUP)", cve: "CVE-2026-74338", wb: "B4 [upstream]", severity: "minor", ageHours: 6},
}

// SeedDemo files a dozen realistic Gentoo kernel security bugs, created
// over the days before now. Bug 3 (if the server had no bugs) is open and
// unclaimed; exactly one bug is restricted to the "security" group.
func SeedDemo(s *Server, now time.Time) {
	for _, d := range demoBugs {
		cve := d.cve
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

// demoNew are the bugs the demo files now and then, each with its real
// kernel CVE.
var demoNew = []struct{ pkg, flaw, area, cve, wb, severity string }{
	{"sys-kernel/gentoo-sources", "data loss", "mm/khugepaged (dirty file folios)", "CVE-2026-68086", "A2 [upstream]", "major"},
	{"sys-kernel/hardened-sources", "data race", "net/core (sk_forward_alloc)", "CVE-2024-53124", "B2 [upstream]", "normal"},
	{"sys-kernel/raspberrypi-sources", "missing lock", "net/wireless (cfg80211 CAC)", "CVE-2025-38643", "B3 [upstream]", "normal"},
	{"sys-kernel/gentoo-kernel", "out-of-bounds read", "arch/x86 (AMD Zen5 microcode table)", "CVE-2025-68195", "A1 [upstream]", "critical"},
	{"sys-kernel/mips-sources", "stack buffer overflow", "drivers/staging/media/atomisp", "CVE-2025-38585", "C3 [upstream]", "minor"},
	{"sys-kernel/rt-sources", "sleeping lock under a spinlock", "drivers/gpio (gpio-rcar)", "CVE-2025-21912", "C2 [upstream]", "normal"},
	{"sys-kernel/vanilla-sources", "out-of-bounds access", "fs/ntfs (resident attributes)", "CVE-2026-72198", "A3 [upstream]", "major"},
}

// DemoBug returns the n-th (0-based) "newly filed" bug for the demo's
// periodic filing; it cycles through trees. The first round has each
// CVE as its alias (an alias is unique in Bugzilla); later rounds name it
// in the summary only.
func DemoBug(n int) NewBug {
	if n < 0 {
		n = -n
	}
	d := demoNew[n%len(demoNew)]
	nb := NewBug{
		Summary:     fmt.Sprintf("%s: %s in %s (%s)", d.pkg, d.flaw, d.area, d.cve),
		Whiteboard:  d.wb,
		Severity:    d.severity,
		Creator:     "security@gentoo.org",
		Description: fmt.Sprintf("A %s in %s was reported upstream. Affected: %s.", d.flaw, d.area, d.pkg),
		URL:         "https://nvd.nist.gov/vuln/detail/" + d.cve,
	}
	if n < len(demoNew) {
		nb.Alias = []string{d.cve}
	}
	return nb
}
