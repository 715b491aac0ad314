// SPDX-License-Identifier: GPL-3.0-or-later

package bugzilla

import "time"

// Bug is the part of a Bugzilla bug that ksecbot uses, as returned by
// GET /rest/bug (Bugzilla 5.0 field names).
type Bug struct {
	ID             int       `json:"id"`
	Alias          []string  `json:"alias"` // 5.0 returns a list
	Summary        string    `json:"summary"`
	Product        string    `json:"product"`
	Component      string    `json:"component"`
	Status         string    `json:"status"`
	Resolution     string    `json:"resolution"`
	Severity       string    `json:"severity"`
	Priority       string    `json:"priority"`
	Whiteboard     string    `json:"whiteboard"`
	Keywords       []string  `json:"keywords"`
	AssignedTo     string    `json:"assigned_to"`
	CC             []string  `json:"cc"`
	Creator        string    `json:"creator"`
	Groups         []string  `json:"groups"`   // non-empty: restricted
	SeeAlso        []string  `json:"see_also"` // URLs; may name a CVE
	IsOpen         bool      `json:"is_open"`
	CreationTime   time.Time `json:"creation_time"`
	LastChangeTime time.Time `json:"last_change_time"`

	// Sight is how ksecbot's mirror sees the bug (package store fills it
	// in); Bugzilla never sends it, and it is not stored with the fields.
	Sight Sight `json:"-"`
}

// Sight is what ksecbot knows of how it sees a mirrored bug, beyond what
// Bugzilla said of it.
type Sight struct {
	// Gone: the last read by id with the API key did not return the bug
	// (restricted into a group ksecbot is not in, deleted, or the key lost
	// rights). Its fields are those last seen.
	Gone bool
	// Unconfirmed: Bugzilla refuses the API key and no read returned the
	// bug since the refusal began, so it may have been restricted since.
	Unconfirmed bool
	// Confirmed is when a read last returned the bug (zero: not known).
	Confirmed time.Time
}

// Restricted reports whether the bug is group-protected: its details must
// not reach public channels.
func (b *Bug) Restricted() bool { return len(b.Groups) > 0 }

// Open reports whether the bug is still open (no resolution).
func (b *Bug) Open() bool { return b.Resolution == "" }

// AliasString returns the first alias (usually a CVE id) or "".
func (b *Bug) AliasString() string {
	if len(b.Alias) == 0 {
		return ""
	}
	return b.Alias[0]
}

// BugFields are the include_fields ksecbot asks for in searches and gets.
var BugFields = []string{
	"id", "alias", "summary", "product", "component", "status", "resolution",
	"severity", "priority", "whiteboard", "keywords", "assigned_to", "cc",
	"creator", "groups", "is_open", "creation_time", "last_change_time",
	"see_also",
}
