// SPDX-License-Identifier: GPL-3.0-or-later

package bugzillatest

import (
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

var (
	openStatuses   = []string{"UNCONFIRMED", "CONFIRMED", "IN_PROGRESS"}
	closedStatuses = []string{"RESOLVED", "VERIFIED"}
	resolutions    = []string{"FIXED", "INVALID", "WONTFIX", "DUPLICATE", "WORKSFORME"}
	// workflow is the 5.0 default status workflow.
	workflow = map[string][]string{
		"":            {"UNCONFIRMED", "CONFIRMED", "IN_PROGRESS"},
		"UNCONFIRMED": {"CONFIRMED", "IN_PROGRESS", "RESOLVED"},
		"CONFIRMED":   {"IN_PROGRESS", "RESOLVED"},
		"IN_PROGRESS": {"CONFIRMED", "RESOLVED"},
		"RESOLVED":    {"UNCONFIRMED", "CONFIRMED", "VERIFIED"},
		"VERIFIED":    {"UNCONFIRMED", "CONFIRMED"},
	}
)

func isClosed(status string) bool { return slices.Contains(closedStatuses, status) }
func isStatus(status string) bool {
	return slices.Contains(openStatuses, status) || slices.Contains(closedStatuses, status)
}

// defaultFields are the bug fields returned without include_fields.
var defaultFields = []string{
	"alias", "assigned_to", "blocks", "cc", "classification", "component", "creation_time",
	"creator", "deadline", "depends_on", "dupe_of", "flags", "groups", "id", "is_cc_accessible",
	"is_confirmed", "is_creator_accessible", "is_open", "keywords", "last_change_time", "op_sys",
	"platform", "priority", "product", "qa_contact", "resolution", "see_also", "severity",
	"status", "summary", "target_milestone", "url", "version", "whiteboard",
	// only for some callers, see bugJSON:
	"actual_time", "estimated_time", "remaining_time", "update_token",
}

// canSee reports whether u may see b: public bugs, or members of all the
// bug's groups, or its reporter, assignee or a CC.
func canSee(u *user, b *Bug) bool {
	if len(b.Groups) == 0 {
		return true
	}
	if u == nil {
		return false
	}
	if strings.EqualFold(b.Creator, u.Login) || strings.EqualFold(b.AssignedTo, u.Login) || containsFold(b.CC, u.Login) {
		return true
	}
	for _, g := range b.Groups {
		if !u.in(g) {
			return false
		}
	}
	return true
}

func errAccess(c *call, id int) *apiError {
	if c.anonymous() {
		return errf(http.StatusUnauthorized, 102, "You are not authorized to access bug #%d. To see this bug, you must first log in to an account with the appropriate permissions.", id)
	}
	return errf(http.StatusUnauthorized, 102, "You are not authorized to access bug #%d.", id)
}

// lookup finds a bug by id or alias, visible to the caller, like
// Bugzilla::Bug->check.
func (s *Server) lookup(c *call, idOrAlias string) (*Bug, *apiError) {
	idOrAlias = strings.TrimSpace(idOrAlias)
	var b *Bug
	if n, err := strconv.Atoi(idOrAlias); err == nil {
		b = s.bugs[n]
		if b == nil {
			return nil, errf(http.StatusNotFound, 101, "Bug #%d does not exist.", n)
		}
	} else {
		for _, cand := range s.bugs {
			if containsFold(cand.Alias, idOrAlias) {
				b = cand
				break
			}
		}
		if b == nil {
			return nil, errf(http.StatusBadRequest, 100, "'%s' is not a valid bug number nor an alias to a bug.", idOrAlias)
		}
	}
	if !canSee(c.caller, b) {
		return nil, errAccess(c, b.ID)
	}
	return b, nil
}

// filterEmail cuts a login to its local part for anonymous callers when
// webservice_email_filter is on.
func (s *Server) filterEmail(c *call, login string) string {
	if s.cfg.emailFilter && c.anonymous() {
		if i := strings.IndexByte(login, '@'); i >= 0 {
			return login[:i]
		}
	}
	return login
}

func (s *Server) userDetail(c *call, login string) map[string]any {
	id, real := 0, ""
	if u := s.userByLogin(login); u != nil {
		id, real = u.id, u.RealName
	}
	l := s.filterEmail(c, login)
	return map[string]any{"id": id, "real_name": real, "name": l, "email": l}
}

// fieldSet computes which fields to return from include_fields and
// exclude_fields (comma, space or plus separated, or repeated).
type fieldSet struct {
	include map[string]bool // nil: defaults
	exclude map[string]bool
}

func splitFields(vals []string) map[string]bool {
	if len(vals) == 0 {
		return nil
	}
	out := map[string]bool{}
	for _, v := range vals {
		for _, f := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == '+' }) {
			out[f] = true
		}
	}
	return out
}

func newFieldSet(c *call) fieldSet {
	return fieldSet{include: splitFields(c.q["include_fields"]), exclude: splitFields(c.q["exclude_fields"])}
}

func (fs fieldSet) wants(name string, isDefault bool) bool {
	if fs.exclude[name] {
		return false
	}
	if fs.include == nil || fs.include["_default"] {
		if isDefault {
			return true
		}
	}
	if fs.include["_all"] {
		return true
	}
	return fs.include[name]
}

// filter keeps the wanted keys of m; *_detail keys follow their base.
func (fs fieldSet) filter(m map[string]any, defaults []string) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		base, isDetail := strings.CutSuffix(k, "_detail")
		if !isDetail {
			base = k
		}
		if fs.wants(base, slices.Contains(defaults, base)) {
			out[k] = v
		}
	}
	return out
}

func fmtTime(t time.Time) string { return t.UTC().Format(TimeFormat) }

func nonNilStrings(v []string) []string {
	if v == nil {
		return []string{}
	}
	return v
}

func nonNilInts(v []int) []int {
	if v == nil {
		return []int{}
	}
	return v
}

// bugJSON renders b as Bugzilla's _bug_to_hash does, filtered by fs.
func (s *Server) bugJSON(c *call, b *Bug, fs fieldSet, get bool) map[string]any {
	cc := make([]string, len(b.CC))
	ccDetail := make([]map[string]any, len(b.CC))
	for i, l := range b.CC {
		cc[i] = s.filterEmail(c, l)
		ccDetail[i] = s.userDetail(c, l)
	}
	m := map[string]any{
		"id": b.ID, "alias": nonNilStrings(slices.Clone(b.Alias)), "summary": b.Summary,
		"product": b.Product, "component": b.Component, "classification": "Unclassified",
		"status": b.Status, "resolution": b.Resolution, "is_open": !isClosed(b.Status),
		"is_confirmed": b.Status != "UNCONFIRMED", "severity": b.Severity, "priority": b.Priority,
		"whiteboard": b.Whiteboard, "keywords": nonNilStrings(slices.Clone(b.Keywords)),
		"groups": nonNilStrings(slices.Clone(b.Groups)), "see_also": nonNilStrings(slices.Clone(b.SeeAlso)),
		"depends_on": nonNilInts(slices.Clone(b.DependsOn)), "blocks": nonNilInts(slices.Clone(b.Blocks)),
		"assigned_to": s.filterEmail(c, b.AssignedTo), "assigned_to_detail": s.userDetail(c, b.AssignedTo),
		"creator": s.filterEmail(c, b.Creator), "creator_detail": s.userDetail(c, b.Creator),
		"cc": cc, "cc_detail": ccDetail, "qa_contact": "", "url": b.URL,
		"version": b.Version, "op_sys": b.OpSys, "platform": b.Platform, "target_milestone": "---",
		"creation_time": fmtTime(b.CreationTime), "last_change_time": fmtTime(b.LastChangeTime),
		"deadline": nil, "dupe_of": nil, "flags": []any{},
		"is_cc_accessible": true, "is_creator_accessible": true, "tags": []string{},
	}
	if c.caller != nil && c.caller.in("admin") { // timetracker
		m["actual_time"], m["estimated_time"], m["remaining_time"] = 0, 0, 0
	}
	if get && c.caller != nil {
		m["update_token"] = strconv.FormatInt(b.LastChangeTime.Unix(), 10) + "-" + randomString(43)
	}
	return fs.filter(m, defaultFields)
}

// getBug serves GET /rest/bug/{id_or_alias}[?ids=...].
func (s *Server) getBug(c *call, idOrAlias string) (result, *apiError) {
	refs := append([]string{idOrAlias}, splitIDs(c.q["ids"])...)
	fs := newFieldSet(c)
	var seen []int
	bugs := []map[string]any{}
	for _, ref := range refs {
		b, aerr := s.lookup(c, ref)
		if aerr != nil {
			return result{}, aerr
		}
		if slices.Contains(seen, b.ID) {
			continue
		}
		seen = append(seen, b.ID)
		bugs = append(bugs, s.bugJSON(c, b, fs, true))
	}
	return ok200(map[string]any{"bugs": bugs, "faults": []any{}})
}

func splitIDs(vals []string) []string {
	var out []string
	for _, v := range vals {
		out = append(out, strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' })...)
	}
	return out
}

func (s *Server) commentJSON(c *call, b *Bug, cm Comment) map[string]any {
	return map[string]any{
		"id": cm.ID, "bug_id": b.ID, "count": cm.Count, "creator": s.filterEmail(c, cm.Creator),
		"text": cm.Text, "is_private": cm.IsPrivate, "tags": []string{}, "attachment_id": nil,
		"time": fmtTime(cm.Time), "creation_time": fmtTime(cm.Time),
	}
}

// getComments serves GET /rest/bug/{id}/comment[?new_since=...]: comments
// strictly newer than new_since; private comments are never shown (no
// insider group).
func (s *Server) getComments(c *call, idOrAlias string) (result, *apiError) {
	b, aerr := s.lookup(c, idOrAlias)
	if aerr != nil {
		return result{}, aerr
	}
	var since time.Time
	if v := c.q.Get("new_since"); v != "" {
		t, err := parseTime(v, s.nowLocked())
		if err != nil {
			return result{}, errf(http.StatusBadRequest, 56, "'%s' is not a legal date.", v)
		}
		since = t
	}
	list := []map[string]any{}
	for _, cm := range b.Comments {
		if cm.IsPrivate || (!since.IsZero() && !cm.Time.After(since)) {
			continue
		}
		list = append(list, s.commentJSON(c, b, cm))
	}
	return ok200(map[string]any{
		"bugs":     map[string]any{strconv.Itoa(b.ID): map[string]any{"comments": list}},
		"comments": map[string]any{},
	})
}

// getHistory serves GET /rest/bug/{id}/history.
func (s *Server) getHistory(c *call, idOrAlias string) (result, *apiError) {
	b, aerr := s.lookup(c, idOrAlias)
	if aerr != nil {
		return result{}, aerr
	}
	hist := []map[string]any{}
	for _, h := range b.History {
		changes := []map[string]any{}
		for _, ch := range h.Changes {
			changes = append(changes, map[string]any{"field_name": ch.Field, "added": ch.Added, "removed": ch.Removed})
		}
		hist = append(hist, map[string]any{"who": h.Who, "when": fmtTime(h.When), "changes": changes})
	}
	return ok200(map[string]any{"bugs": []map[string]any{{
		"id": b.ID, "alias": nonNilStrings(slices.Clone(b.Alias)), "history": hist,
	}}})
}

// sortedBugs returns all bugs by id.
func (s *Server) sortedBugs() []*Bug {
	out := make([]*Bug, 0, len(s.bugs))
	for _, b := range s.bugs {
		out = append(out, b)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}
