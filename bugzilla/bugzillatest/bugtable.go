// SPDX-License-Identifier: GPL-3.0-or-later

// The bugs behind the REST API, changed and read directly by tests:
// creating a bug with its defaults, changing one (recording its history)
// and reading them back.

package bugzillatest

import (
	"slices"
	"sort"
	"strings"
	"time"
)

// CreateBug files a bug directly (as if through the web UI) and returns
// its id. Unknown product/component are created on the fly.
func (s *Server) CreateBug(nb NewBug) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.createLocked(nb)
}

func (s *Server) createLocked(nb NewBug) int {
	if nb.Product == "" {
		nb.Product = "Gentoo Security"
	}
	if nb.Component == "" {
		nb.Component = "Kernel"
	}
	c := s.componentLocked(nb.Product, nb.Component)
	if c == nil {
		s.addComponentLocked(nb.Product, nb.Component, "bug-wranglers@gentoo.org", nil)
		c = s.componentLocked(nb.Product, nb.Component)
	}
	created := nb.Created.UTC().Truncate(time.Second)
	if nb.Created.IsZero() {
		created = s.nowLocked()
	}
	b := &Bug{
		ID: s.nextBug, Alias: slices.Clone(nb.Alias), Product: nb.Product, Component: nb.Component,
		Summary: nb.Summary, Status: nb.Status, Severity: nb.Severity, Priority: nb.Priority,
		Whiteboard: nb.Whiteboard, Creator: nb.Creator, AssignedTo: nb.AssignedTo, URL: nb.URL,
		Version: "unspecified", OpSys: "Linux", Platform: "All",
		Keywords: slices.Clone(nb.Keywords), Groups: slices.Clone(nb.Groups), SeeAlso: slices.Clone(nb.SeeAlso),
		CreationTime: created, LastChangeTime: created,
	}
	s.nextBug++
	def(&b.Status, "CONFIRMED")
	def(&b.Severity, "normal")
	def(&b.Priority, "Normal")
	def(&b.AssignedTo, c.defaultAssignee)
	def(&b.Creator, c.defaultAssignee)
	if isClosed(b.Status) {
		b.Resolution = "FIXED"
	}
	b.CC = mergeCC(c.defaultCC, nb.CC)
	text := nb.Description
	def(&text, nb.Summary)
	b.Comments = []Comment{{ID: s.nextComment, Count: 0, Creator: b.Creator, Text: text, Time: created}}
	s.nextComment++
	s.bugs[b.ID] = b
	return b.ID
}

func def(p *string, v string) {
	if *p == "" {
		*p = v
	}
}

func mergeCC(lists ...[]string) []string {
	var out []string
	for _, l := range lists {
		for _, v := range l {
			if !containsFold(out, v) {
				out = append(out, v)
			}
		}
	}
	sort.Strings(out)
	return out
}

func containsFold(list []string, v string) bool {
	for _, x := range list {
		if strings.EqualFold(x, v) {
			return true
		}
	}
	return false
}

// UpdateBug applies a "human" edit (as if made in the web UI by the bug's
// assignee): f changes the bug, then last_change_time is bumped to now and
// the changed fields are recorded in the history. Moving a bug to another
// product or component (wrangling), or into a group, is such an edit. It
// reports false if the bug does not exist.
func (s *Server) UpdateBug(id int, f func(b *Bug)) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.updateLocked(id, s.nowLocked(), f)
}

// UpdateBugAt is UpdateBug with the change stamped at, not now: a database
// row with a wrong last_change_time, or Bugzilla's clock stepped back.
func (s *Server) UpdateBugAt(id int, at time.Time, f func(b *Bug)) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.updateLocked(id, at.UTC().Truncate(time.Second), f)
}

// DeleteBug removes a bug, as an administrator deleting it in the web UI
// does (REST has no delete: fixture 097): a GET of it is then 404, code
// 101, and searches no longer return it. It reports false if there is no
// such bug.
func (s *Server) DeleteBug(id int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.bugs[id]; !ok {
		return false
	}
	delete(s.bugs, id)
	return true
}

func (s *Server) updateLocked(id int, now time.Time, f func(b *Bug)) bool {
	b, ok := s.bugs[id]
	if !ok {
		return false
	}
	before := b.clone()
	f(b)
	b.ID = id
	sort.Strings(b.CC)
	b.LastChangeTime = now
	if ch := diffBugs(&before, b); len(ch) > 0 {
		b.History = append(b.History, HistoryEntry{Who: b.AssignedTo, When: now, Changes: ch})
	}
	return true
}

func diffBugs(a, b *Bug) []Change {
	var out []Change
	str := func(field, x, y string) {
		if x != y {
			out = append(out, Change{Field: field, Removed: x, Added: y})
		}
	}
	str("product", a.Product, b.Product)
	str("component", a.Component, b.Component)
	str("summary", a.Summary, b.Summary)
	str("status", a.Status, b.Status)
	str("resolution", a.Resolution, b.Resolution)
	str("severity", a.Severity, b.Severity)
	str("priority", a.Priority, b.Priority)
	str("whiteboard", a.Whiteboard, b.Whiteboard)
	str("assigned_to", a.AssignedTo, b.AssignedTo)
	list := func(field string, x, y []string) {
		added, removed := listDiff(x, y)
		if len(added) > 0 || len(removed) > 0 {
			out = append(out, Change{Field: field, Removed: strings.Join(removed, ", "), Added: strings.Join(added, ", ")})
		}
	}
	list("cc", a.CC, b.CC)
	list("keywords", a.Keywords, b.Keywords)
	list("alias", a.Alias, b.Alias)
	list("groups", a.Groups, b.Groups)
	return out
}

// listDiff returns the values of y not in x and the values of x not in y.
func listDiff(x, y []string) (added, removed []string) {
	for _, v := range y {
		if !containsFold(x, v) {
			added = append(added, v)
		}
	}
	for _, v := range x {
		if !containsFold(y, v) {
			removed = append(removed, v)
		}
	}
	return added, removed
}

// Bug returns a copy of bug id, for assertions.
func (s *Server) Bug(id int) (Bug, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.bugs[id]
	if !ok {
		return Bug{}, false
	}
	return b.clone(), true
}

// BugIDs returns the ids of all bugs, ascending.
func (s *Server) BugIDs() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]int, 0, len(s.bugs))
	for id := range s.bugs {
		ids = append(ids, id)
	}
	sort.Ints(ids)
	return ids
}
