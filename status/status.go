// SPDX-License-Identifier: GPL-3.0-or-later

// Package status renders ksecbot's status page: the open bugs per tree,
// reaction times per tree as plots, kernel CVE exposure and the health of
// every part, as one self-contained HTML page (inline SVG, inline CSS, no
// script, no outside resource) and one page per tree.
//
// The page is public: it shows what a public channel may see and nothing
// more. Build asks package policy about every bug as a public channel
// would; a restricted (or no longer visible) bug appears only by its
// number, never with its summary, severity, trees, CVEs or addresses, and
// takes no part in the per-tree figures.
package status

import (
	"time"
)

// Snapshot is everything one rendering of the page shows, already judged
// by the policy: nothing in it may be hidden from the public.
type Snapshot struct {
	Generated  time.Time
	Days       int    // the reaction-time window in days (30 or 90)
	SearchURL  string // Bugzilla search for all open bugs, "" if unknown
	Trees      []Tree
	Restricted []Withheld // open bugs the public may not see, by number
	Health     Health
}

// Tree is one kernel tree's part of the page.
type Tree struct {
	Name        string
	Unsupported bool      // no security support (K_SECURITY_UNSUPPORTED)
	Open        []Bug     // the oldest MaxRows open bugs that concern it
	NOpen       int       // all open bugs that concern it
	Unclaimed   int       // of all open bugs
	NotCC       int       // of all open bugs: the tree is neither assignee nor in CC
	Reaction    []Series  // creation to announcement, to first claim, to CC
	Exposure    *Exposure // nil: no kernel CVE data
}

// Bug is one open public bug as a row of a tree's table.
type Bug struct {
	ID       int
	URL      string
	Summary  string
	Severity string
	Grade    string // whiteboard grade (A1, B3, ...), "" if none
	Created  time.Time
	Age      string
	Claimed  bool // assigned to someone other than the component default
	CCd      bool // the tree is the assignee or in CC
}

// Withheld is an open bug whose details the public may not see.
type Withheld struct {
	ID  int
	URL string
}

// Series is one reaction (what was measured) per week: median and 90th
// percentile of the bugs created in that week.
type Series struct {
	Action string // "announced", "claimed", "cc"
	Label  string // for people: "creation → announcement"
	Weeks  []Week
	N      int           // bugs measured over the whole window
	Median time.Duration // over the whole window
	P90    time.Duration
}

// Week is one week's figures; N is 0 when no bug of that week was measured.
type Week struct {
	Start       time.Time
	N           int
	Median, P90 time.Duration
}

// Exposure is what the kernel CVE data says of a tree's newest stable
// version.
type Exposure struct {
	Version  string // the newest stable version judged ("" if none)
	Affected int    // published CVEs affecting it
	FixedBy  string // the version that would fix most of them
	Fixes    int    // how many of Affected FixedBy fixes
	Note     string // "no stable version", a reason for "unknown", ...
}

// Health is the state of every part, as /healthz sees it.
type Health struct {
	Networks []Part
	Bugzilla Part
	Database Part
	LastPoll time.Time // zero: no successful poll yet
	// KernelCVE is the kernel CVE data's part, nil without [kernel_cve].
	KernelCVE   *Part
	LastCVEScan time.Time // zero: no successful scan of the kernel CVE data yet
}

// Part is one part's state: "ok", "degraded" or "down", and why.
type Part struct {
	Name   string
	State  string
	Detail string
}

// Part states.
const (
	StateOK       = "ok"
	StateDegraded = "degraded"
	StateDown     = "down"
)
