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

// maxSearchResults is Bugzilla's max_search_results default.
const maxSearchResults = 10000

// search serves GET /rest/bug with Bug.search semantics.
func (s *Server) search(c *call) (result, *apiError) {
	q := c.q
	now := s.nowLocked()
	var preds []pred
	if qs := q.Get("quicksearch"); qs != "" {
		preds = quicksearch(qs)
	} else {
		var aerr *apiError
		preds, aerr = s.searchPreds(c, now)
		if aerr != nil {
			return result{}, aerr
		}
	}

	limit, offset := 0, 0
	if v := q.Get("limit"); v != "" {
		limit, _ = strconv.Atoi(v)
	}
	if v := q.Get("offset"); v != "" {
		offset, _ = strconv.Atoi(v)
	}
	if q.Has("offset") && !q.Has("limit") {
		return result{}, errf(http.StatusBadRequest, 50, "The function Bug.search() requires a limit argument, and that argument was not set.")
	}
	if limit <= 0 {
		limit, offset = maxSearchResults, 0
	}
	limit = min(limit, maxSearchResults)

	var hits []*Bug
	for _, b := range s.candidates(c) {
		if !canSee(c.caller, b) {
			continue
		}
		ok := true
		for _, p := range preds {
			if !p(b) {
				ok = false
				break
			}
		}
		if ok {
			hits = append(hits, b)
		}
	}
	sortBugs(hits, q["order"])
	if offset > len(hits) {
		offset = len(hits)
	}
	hits = hits[offset:]
	if len(hits) > limit {
		hits = hits[:limit]
	}
	fs := newFieldSet(c)
	out := make([]map[string]any, 0, len(hits))
	for _, b := range hits {
		out = append(out, s.bugJSON(c, b, fs, false))
	}
	return ok200(map[string]any{"bugs": out})
}

func (s *Server) searchPreds(c *call, now time.Time) ([]pred, *apiError) {
	q := c.q
	var preds []pred
	get := func(names ...string) []string {
		var out []string
		for _, n := range names {
			out = append(out, q[n]...)
		}
		return out
	}
	for field, names := range map[string][]string{
		"product": {"product"}, "component": {"component"}, "severity": {"severity", "bug_severity"},
		"priority": {"priority"}, "alias": {"alias"},
	} {
		if vs := get(names...); len(vs) > 0 {
			preds = append(preds, anyExact(field, vs))
		}
	}
	if vs := get("status", "bug_status"); len(vs) > 0 {
		var st []string
		for _, v := range vs {
			switch strings.ToLower(v) {
			case "__open__":
				st = append(st, openStatuses...)
			case "__closed__":
				st = append(st, closedStatuses...)
			case "__all__":
				st = append(st, openStatuses...)
				st = append(st, closedStatuses...)
			default:
				if isStatus(strings.ToUpper(v)) {
					st = append(st, strings.ToUpper(v))
				}
			}
		}
		if len(st) > 0 { // unknown statuses are dropped, like Bugzilla
			preds = append(preds, anyExact("status", st))
		}
	}
	if vs := get("resolution"); len(vs) > 0 {
		rs := make([]string, len(vs))
		for i, v := range vs {
			if v == "---" {
				v = ""
			}
			rs[i] = v
		}
		preds = append(preds, func(b *Bug) bool { return slices.Contains(rs, b.Resolution) })
	}
	if vs := splitIDs(get("id", "bug_id")); len(vs) > 0 {
		preds = append(preds, anyExact("id", vs))
	}
	if vs := get("summary", "short_desc"); len(vs) > 0 {
		preds = append(preds, allWordsSubstr("summary", vs))
	}
	if vs := get("whiteboard", "status_whiteboard"); len(vs) > 0 {
		preds = append(preds, allWordsSubstr("whiteboard", vs))
	}
	if vs := get("keywords"); len(vs) > 0 {
		ws := words(vs)
		preds = append(preds, func(b *Bug) bool {
			for _, w := range ws {
				if !containsFold(b.Keywords, w) {
					return false
				}
			}
			return true
		})
	}
	for field, names := range map[string][]string{
		"assigned_to": {"assigned_to"}, "creator": {"creator", "reporter"}, "cc": {"cc"},
	} {
		if vs := get(names...); len(vs) > 0 {
			preds = append(preds, anyWordsSubstr(field, vs))
		}
	}
	for field, names := range map[string][]string{
		"creation_time": {"creation_time"}, "last_change_time": {"last_change_time"},
	} {
		if v := get(names...); len(v) > 0 {
			t, err := parseTime(v[0], now)
			if err != nil {
				return nil, errBadDate(v[0])
			}
			preds = append(preds, func(b *Bug) bool { return !bugTime(b, field).Before(t) })
		}
	}
	if v := q.Get("chfieldfrom"); v != "" {
		t, err := parseRelTime(v, now)
		if err != nil {
			return nil, errBadDate(v)
		}
		preds = append(preds, func(b *Bug) bool { return !b.LastChangeTime.Before(t) })
	}
	if v := q.Get("chfieldto"); v != "" {
		t, err := parseRelTime(v, now)
		if err != nil {
			return nil, errBadDate(v)
		}
		preds = append(preds, func(b *Bug) bool { return !b.LastChangeTime.After(t) })
	}
	chart, aerr := chartPred(c, now)
	if aerr != nil {
		return nil, aerr
	}
	if chart != nil {
		preds = append(preds, chart)
	}
	return preds, nil
}

// quicksearch is a minimal Bugzilla quicksearch: a bug number or alias, or
// words that must all appear in the summary, alias or whiteboard of an
// open bug (prefix "ALL " to include closed bugs).
func quicksearch(qs string) []pred {
	qs = strings.TrimSpace(qs)
	all := false
	if rest, ok := strings.CutPrefix(qs, "ALL "); ok {
		all, qs = true, rest
	}
	if _, err := strconv.Atoi(qs); err == nil {
		return []pred{anyExact("id", []string{qs})}
	}
	ws := strings.Fields(qs)
	preds := []pred{func(b *Bug) bool {
		for _, w := range ws {
			if !substrFold(b.Summary, w) && !substrFold(b.Whiteboard, w) && !anyValue(b.Alias, func(a string) bool { return strings.EqualFold(a, w) }) {
				return false
			}
		}
		return true
	}}
	if !all {
		preds = append(preds, func(b *Bug) bool { return !isClosed(b.Status) })
	}
	return preds
}

// sortBugs applies order= like Bugzilla: known columns with ASC/DESC,
// unknown columns silently dropped, bug_id as the final tiebreak.
func sortBugs(bugs []*Bug, orders []string) {
	type key struct {
		cmp  func(a, b *Bug) int
		desc bool
	}
	var keys []key
	for _, o := range orders {
		for _, part := range strings.Split(o, ",") {
			f := strings.Fields(part)
			if len(f) == 0 {
				continue
			}
			desc := len(f) > 1 && strings.EqualFold(f[1], "DESC")
			var cmp func(a, b *Bug) int
			switch f[0] {
			case "bug_id":
				cmp = func(a, b *Bug) int { return a.ID - b.ID }
			case "changeddate", "delta_ts":
				cmp = func(a, b *Bug) int { return a.LastChangeTime.Compare(b.LastChangeTime) }
			case "opendate", "creation_ts":
				cmp = func(a, b *Bug) int { return a.CreationTime.Compare(b.CreationTime) }
			case "bug_status", "priority", "bug_severity", "short_desc", "assigned_to", "product", "component", "resolution":
				field := chartFields[f[0]]
				cmp = func(a, b *Bug) int { return strings.Compare(values(a, field)[0], values(b, field)[0]) }
			default:
				continue // e.g. "last_change_time": not a sort column
			}
			keys = append(keys, key{cmp: cmp, desc: desc})
		}
	}
	sort.SliceStable(bugs, func(i, j int) bool {
		for _, k := range keys {
			c := k.cmp(bugs[i], bugs[j])
			if k.desc {
				c = -c
			}
			if c != 0 {
				return c < 0
			}
		}
		return bugs[i].ID < bugs[j].ID
	})
}

// candidates returns the bugs a search must look at, by id: only the named
// ones when the search names ids (a push fetches one bug; scanning a large
// world for it would make the test server the slowest part of a benchmark),
// else all. The predicates still decide.
func (s *Server) candidates(c *call) []*Bug {
	if c.q.Get("quicksearch") != "" {
		return s.sortedBugs()
	}
	vs := splitIDs(append(append([]string(nil), c.q["id"]...), c.q["bug_id"]...))
	if len(vs) == 0 {
		return s.sortedBugs()
	}
	seen := map[int]bool{}
	var out []*Bug
	for _, v := range vs {
		id, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || seen[id] {
			continue
		}
		seen[id] = true
		if b, ok := s.bugs[id]; ok {
			out = append(out, b)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}
