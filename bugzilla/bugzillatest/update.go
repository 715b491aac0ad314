// SPDX-License-Identifier: GPL-3.0-or-later

package bugzillatest

import (
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// fieldNames are the display names Bugzilla uses in illegal_change.
var fieldNames = map[string]string{
	"assigned_to": "Assignee", "cc": "CC", "status": "Status", "resolution": "Resolution",
	"whiteboard": "Whiteboard", "priority": "Priority", "severity": "Severity",
	"summary": "Summary", "keywords": "Keywords",
}

func strList(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			switch y := e.(type) {
			case string:
				out = append(out, y)
			case float64:
				out = append(out, strconv.Itoa(int(y)))
			}
		}
		return out
	}
	return nil
}

func addRemove(v any) (add, remove, set []string, hasSet bool) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, nil, nil, false
	}
	_, hasSet = m["set"]
	return strList(m["add"]), strList(m["remove"]), strList(m["set"]), hasSet
}

func boolParam(v any) bool {
	switch x := v.(type) {
	case bool:
		return x
	case float64:
		return x != 0
	case string:
		return x == "1" || strings.EqualFold(x, "true")
	}
	return false
}

// checkUsers resolves logins exactly (case-insensitively) or fails with 51.
func (s *Server) checkUsers(logins []string) ([]string, *apiError) {
	out := make([]string, 0, len(logins))
	for _, l := range logins {
		u := s.userByLogin(strings.TrimSpace(l))
		if u == nil {
			return nil, errNoUser(l)
		}
		out = append(out, u.Login)
	}
	return out, nil
}

type pendingUpdate struct {
	bug     *Bug
	next    Bug
	changes []Change
	comment *Comment
}

// updateBug serves PUT /rest/bug/{id}: all bugs are checked first and
// updated together, or none is.
func (s *Server) updateBug(c *call, ref string) (result, *apiError) {
	if c.anonymous() {
		return result{}, errLoginRequired
	}
	refs := splitIDs([]string{ref})
	if ids, ok := c.body["ids"]; ok {
		refs = strList(ids)
	}
	body := c.body
	now := s.nowLocked()

	var ccAdd, ccRemove []string
	var aerr *apiError
	if v, ok := body["cc"]; ok {
		add, remove, _, _ := addRemove(v)
		if ccAdd, aerr = s.checkUsers(add); aerr != nil {
			return result{}, aerr
		}
		if ccRemove, aerr = s.checkUsers(remove); aerr != nil {
			return result{}, aerr
		}
	}
	assignee, hasAssignee := body["assigned_to"].(string)
	if hasAssignee {
		if strings.TrimSpace(assignee) == "" {
			return result{}, errf(http.StatusBadRequest, 50, "You cannot reassign to a bug to nobody.")
		}
		u := s.userByLogin(strings.TrimSpace(assignee))
		if u == nil {
			return result{}, errNoUser(assignee)
		}
		assignee = u.Login
	}
	status, hasStatus := body["status"].(string)
	if hasStatus && !isStatus(status) {
		return result{}, errf(http.StatusNotFound, 51, "There is no status named '%s'.", status)
	}
	resolution, hasResolution := body["resolution"].(string)
	if hasResolution && resolution != "" && !slices.Contains(resolutions, resolution) {
		return result{}, errf(http.StatusNotFound, 51, "There is no Resolution named '%s'.", resolution)
	}
	var commentText string
	var commentPrivate bool
	if cm, ok := body["comment"].(map[string]any); ok {
		commentText, _ = cm["body"].(string)
		if commentText == "" {
			commentText, _ = cm["comment"].(string)
		}
		commentPrivate = boolParam(cm["is_private"])
	}
	commentText = strings.TrimRight(strings.ReplaceAll(commentText, "\r\n", "\n"), " \t\r\n")

	var pending []*pendingUpdate
	for _, r := range refs {
		b, aerr := s.lookup(c, r)
		if aerr != nil {
			return result{}, aerr
		}
		p := &pendingUpdate{bug: b, next: b.clone()}
		n := &p.next
		canEdit := c.caller.in("editbugs") || strings.EqualFold(b.AssignedTo, c.caller.Login) || strings.EqualFold(b.Creator, c.caller.Login)
		set := func(field string, dst *string, v string) *apiError {
			if *dst == v {
				return nil
			}
			if !canEdit {
				return errf(http.StatusUnauthorized, 115, "You tried to change the %s field from %s to %s, but only the assignee or reporter of the bug, or a user with the required permissions may change that field.", fieldNames[field], *dst, v)
			}
			p.changes = append(p.changes, Change{Field: field, Removed: *dst, Added: v})
			*dst = v
			return nil
		}
		for _, f := range []string{"summary", "whiteboard", "priority", "severity"} {
			v, ok := body[f].(string)
			if !ok {
				continue
			}
			dst := map[string]*string{"summary": &n.Summary, "whiteboard": &n.Whiteboard, "priority": &n.Priority, "severity": &n.Severity}[f]
			if aerr := set(f, dst, v); aerr != nil {
				return result{}, aerr
			}
		}
		if hasAssignee {
			if aerr := set("assigned_to", &n.AssignedTo, assignee); aerr != nil {
				return result{}, aerr
			}
		} else if boolParam(body["reset_assigned_to"]) {
			if comp := s.componentLocked(b.Product, b.Component); comp != nil {
				if aerr := set("assigned_to", &n.AssignedTo, comp.defaultAssignee); aerr != nil {
					return result{}, aerr
				}
			}
		}
		if hasStatus || hasResolution {
			newStatus := n.Status
			if hasStatus {
				newStatus = status
			}
			if newStatus != n.Status && !slices.Contains(workflow[n.Status], newStatus) {
				return result{}, errf(http.StatusBadRequest, 123, "You are not allowed to change the bug status from %s to %s.", n.Status, newStatus)
			}
			newRes := n.Resolution
			if hasResolution {
				newRes = resolution
			}
			if isClosed(newStatus) && newRes == "" {
				return result{}, errf(http.StatusBadRequest, 121, "A valid resolution is required to mark bugs as %s.", newStatus)
			}
			if !isClosed(newStatus) {
				if hasResolution && resolution != "" {
					return result{}, errf(http.StatusBadRequest, 122, "You cannot set a resolution for open bugs.")
				}
				newRes = ""
			}
			if aerr := set("status", &n.Status, newStatus); aerr != nil {
				return result{}, aerr
			}
			if aerr := set("resolution", &n.Resolution, newRes); aerr != nil {
				return result{}, aerr
			}
		}
		if kw, ok := body["keywords"]; ok {
			add, remove, setList, hasSet := addRemove(kw)
			next := slices.Clone(n.Keywords)
			if hasSet {
				next = setList
			} else {
				next = mergeCC(next, add)
				next = slices.DeleteFunc(next, func(k string) bool { return containsFold(remove, k) })
			}
			added, removed := listDiff(n.Keywords, next)
			if len(added)+len(removed) > 0 {
				if !canEdit {
					return result{}, errf(http.StatusUnauthorized, 115, "You tried to change the Keywords field, but only the assignee or reporter of the bug, or a user with the required permissions may change that field.")
				}
				p.changes = append(p.changes, Change{Field: "keywords", Added: strings.Join(added, ", "), Removed: strings.Join(removed, ", ")})
				n.Keywords = next
			}
		}
		if len(ccAdd)+len(ccRemove) > 0 {
			next := mergeCC(n.CC, ccAdd)
			next = slices.DeleteFunc(next, func(l string) bool { return containsFold(ccRemove, l) })
			added, removed := listDiff(n.CC, next)
			if !canEdit {
				for _, l := range append(slices.Clone(added), removed...) {
					if !strings.EqualFold(l, c.caller.Login) {
						return result{}, errf(http.StatusUnauthorized, 115, "You tried to change the CC field from %s to %s, but only the assignee or reporter of the bug, or a user with the required permissions may change that field.", strings.Join(n.CC, ", "), strings.Join(next, ", "))
					}
				}
			}
			if len(added)+len(removed) > 0 {
				sort.Strings(added)
				sort.Strings(removed)
				p.changes = append(p.changes, Change{Field: "cc", Added: strings.Join(added, ", "), Removed: strings.Join(removed, ", ")})
				n.CC = next
			}
		}
		if commentText != "" {
			if commentPrivate {
				return result{}, errNotInsider
			}
			p.comment = &Comment{Creator: c.caller.Login, Text: commentText, Time: now}
		}
		pending = append(pending, p)
	}

	out := []map[string]any{}
	for _, p := range pending {
		if len(p.changes) > 0 || p.comment != nil {
			p.next.LastChangeTime = now
		}
		if len(p.changes) > 0 {
			p.next.History = append(p.next.History, HistoryEntry{Who: c.caller.Login, When: now, Changes: p.changes})
		}
		if p.comment != nil {
			p.comment.ID, p.comment.Count = s.nextComment, len(p.next.Comments)
			s.nextComment++
			p.next.Comments = append(p.next.Comments, *p.comment)
		}
		*p.bug = p.next
		changes := map[string]any{}
		for _, ch := range p.changes {
			changes[ch.Field] = map[string]any{"added": ch.Added, "removed": ch.Removed}
		}
		out = append(out, map[string]any{
			"id": p.bug.ID, "alias": nonNilStrings(slices.Clone(p.bug.Alias)),
			"last_change_time": fmtTime(p.bug.LastChangeTime), "changes": changes,
		})
	}
	return ok200(map[string]any{"bugs": out})
}

var errNotInsider = errf(http.StatusUnauthorized, 113, "Sorry, but you are not allowed to (un)mark comments or attachments as private.")

// addComment serves POST /rest/bug/{id}/comment (HTTP 201).
func (s *Server) addComment(c *call, ref string) (result, *apiError) {
	if c.anonymous() {
		return result{}, errLoginRequired
	}
	b, aerr := s.lookup(c, ref)
	if aerr != nil {
		return result{}, aerr
	}
	text, _ := c.body["comment"].(string)
	text = strings.TrimRight(strings.ReplaceAll(text, "\r\n", "\n"), " \t\r\n")
	if strings.TrimSpace(text) == "" {
		return result{}, errf(http.StatusBadRequest, 50, "The function requires a comment argument, and that argument was not set.")
	}
	if boolParam(c.body["is_private"]) || boolParam(c.body["private"]) {
		return result{}, errNotInsider
	}
	now := s.nowLocked()
	cm := Comment{ID: s.nextComment, Count: len(b.Comments), Creator: c.caller.Login, Text: text, Time: now}
	s.nextComment++
	b.Comments = append(b.Comments, cm)
	b.LastChangeTime = now
	return result{status: http.StatusCreated, v: map[string]any{"id": cm.ID}}, nil
}

// createBug serves POST /rest/bug (HTTP 200, {"id": N}).
func (s *Server) createBug(c *call) (result, *apiError) {
	if c.anonymous() {
		return result{}, errLoginRequired
	}
	str := func(k string) string { v, _ := c.body[k].(string); return strings.TrimSpace(v) }
	nb := NewBug{
		Product: str("product"), Component: str("component"), Summary: str("summary"),
		Severity: str("severity"), Priority: str("priority"), Whiteboard: str("whiteboard"),
		Status: str("status"), URL: str("url"), Description: str("description"),
		Alias: strList(c.body["alias"]), Keywords: strList(c.body["keywords"]),
		Groups: strList(c.body["groups"]), Creator: c.caller.Login,
	}
	if nb.Product == "" || s.productLocked(nb.Product) == nil {
		return result{}, errf(http.StatusBadRequest, 106, "There is no product named '%s'.", nb.Product)
	}
	if s.componentLocked(nb.Product, nb.Component) == nil {
		return result{}, errf(http.StatusBadRequest, 105, "There is no component named '%s' in the '%s' product.", nb.Component, nb.Product)
	}
	if nb.Summary == "" {
		return result{}, errf(http.StatusBadRequest, 107, "You must enter a summary for this bug.")
	}
	for _, a := range nb.Alias {
		if _, err := strconv.Atoi(a); err == nil || strings.ContainsAny(a, " ,") {
			return result{}, errf(http.StatusBadRequest, 103, "The alias '%s' is not valid.", a)
		}
		for _, b := range s.bugs {
			if containsFold(b.Alias, a) {
				return result{}, errf(http.StatusBadRequest, 103, "%s has already taken the alias '%s'.", "Bug "+strconv.Itoa(b.ID), a)
			}
		}
	}
	if nb.Status != "" && !slices.Contains(openStatuses, nb.Status) {
		return result{}, errf(http.StatusBadRequest, 32000, "You are not allowed to file new bugs with the %s status.", nb.Status)
	}
	if nb.Status == "" && !c.caller.in("editbugs") {
		nb.Status = "UNCONFIRMED"
	}
	var aerr *apiError
	if a := str("assigned_to"); a != "" {
		var us []string
		if us, aerr = s.checkUsers([]string{a}); aerr != nil {
			return result{}, aerr
		}
		nb.AssignedTo = us[0]
	}
	if nb.CC, aerr = s.checkUsers(strList(c.body["cc"])); aerr != nil {
		return result{}, aerr
	}
	id := s.createLocked(nb)
	return ok200(map[string]any{"id": id})
}
