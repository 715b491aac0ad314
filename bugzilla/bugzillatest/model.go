// SPDX-License-Identifier: GPL-3.0-or-later

// The data model: the exported types tests fill in and read back, and
// the internal users, products and components behind them.

package bugzillatest

import (
	"slices"
	"time"
)

// User is a Bugzilla account. Groups may include "editbugs" (may edit
// any bug), "security" (may see bugs restricted to that group) and "admin".
type User struct {
	Login    string
	RealName string
	APIKey   string
	Password string // for /rest/login and Bugzilla_login; optional
	Groups   []string
}

// Comment is a bug comment; the description is the comment with Count 0.
type Comment struct {
	ID        int
	Count     int
	Creator   string
	Text      string
	IsPrivate bool
	Time      time.Time
}

// Change is one field change of a history entry or update.
type Change struct {
	Field   string // API name: "cc", "status", "whiteboard", ...
	Removed string
	Added   string
}

// HistoryEntry is one activity entry: all changes of one update.
type HistoryEntry struct {
	Who     string
	When    time.Time
	Changes []Change
}

// Bug is the server's model of a bug.
type Bug struct {
	ID             int
	Alias          []string
	Product        string
	Component      string
	Summary        string
	Status         string
	Resolution     string
	Severity       string
	Priority       string
	Whiteboard     string
	Creator        string
	AssignedTo     string
	URL            string
	Version        string
	OpSys          string
	Platform       string
	Keywords       []string
	Groups         []string
	CC             []string
	SeeAlso        []string
	DependsOn      []int
	Blocks         []int
	CreationTime   time.Time
	LastChangeTime time.Time
	Comments       []Comment
	History        []HistoryEntry
}

func (b *Bug) clone() Bug {
	c := *b
	c.Alias = slices.Clone(b.Alias)
	c.Keywords = slices.Clone(b.Keywords)
	c.Groups = slices.Clone(b.Groups)
	c.CC = slices.Clone(b.CC)
	c.SeeAlso = slices.Clone(b.SeeAlso)
	c.DependsOn = slices.Clone(b.DependsOn)
	c.Blocks = slices.Clone(b.Blocks)
	c.Comments = slices.Clone(b.Comments)
	c.History = make([]HistoryEntry, len(b.History))
	for i, h := range b.History {
		c.History[i] = HistoryEntry{Who: h.Who, When: h.When, Changes: slices.Clone(h.Changes)}
	}
	return c
}

// NewBug describes a bug for CreateBug. Empty fields take defaults:
// product "Gentoo Security", component "Kernel", status CONFIRMED, severity
// "normal", priority "Normal", assignee and CC from the component, creator
// the component's default assignee, Created the server's now.
type NewBug struct {
	Product, Component, Summary, Severity, Priority, Whiteboard, Creator, AssignedTo, Status string
	Alias, Keywords, Groups, CC                                                              []string
	SeeAlso                                                                                  []string // URLs
	Created                                                                                  time.Time
	Description                                                                              string // comment 0; default: the summary
	URL                                                                                      string
}

type user struct {
	User
	id int
}

func (u *user) in(group string) bool { return slices.Contains(u.Groups, group) }

type component struct {
	id              int
	name            string
	description     string
	defaultAssignee string
	defaultCC       []string
}

type product struct {
	id          int
	name        string
	description string
	components  []*component
}
