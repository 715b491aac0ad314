// SPDX-License-Identifier: GPL-3.0-or-later

package bugzillatest

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// maxSearchResults is Bugzilla's max_search_results default.
const maxSearchResults = 10000

var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05",
	"2006-01-02T15:04",
	"2006-01-02 15:04:05",
	"2006-01-02 15:04",
	"20060102T15:04:05",
	"20060102T150405",
	"2006-01-02",
}

// parseTime parses the date formats Bugzilla accepts; times without a zone
// are server local time, which is UTC.
func parseTime(v string, now time.Time) (time.Time, error) {
	v = strings.TrimSpace(v)
	if strings.EqualFold(v, "now") {
		return now, nil
	}
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, v); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("parse %q: not a date", v)
}

var relRe = regexp.MustCompile(`^-?(\d+)([hdwmy])$`)

// parseRelTime also accepts relative dates like -1h, -2d, 1w.
func parseRelTime(v string, now time.Time) (time.Time, error) {
	if m := relRe.FindStringSubmatch(strings.ToLower(strings.TrimSpace(v))); m != nil {
		n, _ := strconv.Atoi(m[1])
		switch m[2] {
		case "h":
			return now.Add(-time.Duration(n) * time.Hour), nil
		case "d":
			return now.AddDate(0, 0, -n), nil
		case "w":
			return now.AddDate(0, 0, -7*n), nil
		case "m":
			return now.AddDate(0, -n, 0), nil
		default:
			return now.AddDate(-n, 0, 0), nil
		}
	}
	return parseTime(v, now)
}

func errBadDate(v string) *apiError {
	return errf(http.StatusBadRequest, 56, "'%s' is not a legal date.", v)
}

// pred is one search criterion.
type pred func(b *Bug) bool

// chartFields maps the field names accepted in fN to a bug accessor.
// Both internal and API names are accepted.
var chartFields = map[string]string{
	"bug_id": "id", "id": "id", "short_desc": "summary", "summary": "summary",
	"status_whiteboard": "whiteboard", "whiteboard": "whiteboard",
	"bug_status": "status", "status": "status", "resolution": "resolution",
	"product": "product", "component": "component", "alias": "alias",
	"assigned_to": "assigned_to", "reporter": "creator", "creator": "creator", "cc": "cc",
	"keywords": "keywords", "bug_severity": "severity", "severity": "severity",
	"priority": "priority", "delta_ts": "last_change_time", "last_change_time": "last_change_time",
	"creation_ts": "creation_time", "creation_time": "creation_time", "bug_group": "groups",
	"content": "summary",
}

// values returns a bug's values for an API field name.
func values(b *Bug, field string) []string {
	switch field {
	case "id":
		return []string{strconv.Itoa(b.ID)}
	case "summary":
		return []string{b.Summary}
	case "whiteboard":
		return []string{b.Whiteboard}
	case "status":
		return []string{b.Status}
	case "resolution":
		return []string{b.Resolution}
	case "product":
		return []string{b.Product}
	case "component":
		return []string{b.Component}
	case "alias":
		return b.Alias
	case "assigned_to":
		return []string{b.AssignedTo}
	case "creator":
		return []string{b.Creator}
	case "cc":
		return b.CC
	case "keywords":
		return b.Keywords
	case "severity":
		return []string{b.Severity}
	case "priority":
		return []string{b.Priority}
	case "groups":
		return b.Groups
	}
	return nil
}

func bugTime(b *Bug, field string) time.Time {
	if field == "creation_time" {
		return b.CreationTime
	}
	return b.LastChangeTime
}

func words(vals []string) []string {
	return strings.FieldsFunc(strings.Join(vals, " "), func(r rune) bool { return r == ' ' || r == ',' || r == '\t' })
}

func anyValue(vs []string, f func(string) bool) bool {
	return slices.ContainsFunc(vs, f)
}

func substrFold(s, sub string) bool {
	return strings.Contains(strings.ToLower(s), strings.ToLower(sub))
}

// anyExact: one of the values equals one of vals (case-insensitive).
func anyExact(field string, vals []string) pred {
	return func(b *Bug) bool {
		return anyValue(values(b, field), func(v string) bool { return containsFold(vals, v) })
	}
}

// allWordsSubstr: every word is a substring of the field.
func allWordsSubstr(field string, vals []string) pred {
	ws := words(vals)
	return func(b *Bug) bool {
		for _, w := range ws {
			if !anyValue(values(b, field), func(v string) bool { return substrFold(v, w) }) {
				return false
			}
		}
		return true
	}
}

// anyWordsSubstr: some word is a substring of the field.
func anyWordsSubstr(field string, vals []string) pred {
	ws := words(vals)
	return func(b *Bug) bool {
		for _, w := range ws {
			if anyValue(values(b, field), func(v string) bool { return substrFold(v, w) }) {
				return true
			}
		}
		return false
	}
}

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

// chartPred builds the fN/oN/vN boolean chart (ANDed, or ORed with
// j_top=OR; nN negates).
func chartPred(c *call, now time.Time) (pred, *apiError) {
	var parts []pred
	for i := 1; i < 100; i++ {
		n := strconv.Itoa(i)
		f := c.q.Get("f" + n)
		if f == "" || f == "OP" || f == "CP" || f == "noop" {
			continue
		}
		field, ok := chartFields[f]
		if !ok {
			return nil, errf(http.StatusBadRequest, 108, "Can't use \"%s\" as a field name.", f)
		}
		p, err := opPred(field, c.q.Get("o"+n), c.q.Get("v"+n), now)
		if err != nil {
			var ae *apiError
			if errors.As(err, &ae) {
				return nil, ae
			}
			return nil, errf(http.StatusBadRequest, 32000, "%v", err)
		}
		if c.q.Get("n"+n) == "1" {
			inner := p
			p = func(b *Bug) bool { return !inner(b) }
		}
		parts = append(parts, p)
	}
	if len(parts) == 0 {
		return nil, nil
	}
	or := strings.EqualFold(c.q.Get("j_top"), "OR")
	return func(b *Bug) bool {
		for _, p := range parts {
			if p(b) == or {
				return or
			}
		}
		return !or
	}, nil
}

func opPred(field, op, v string, now time.Time) (pred, error) {
	if field == "creation_time" || field == "last_change_time" {
		switch op {
		case "isempty":
			return func(*Bug) bool { return false }, nil
		case "isnotempty":
			return func(*Bug) bool { return true }, nil
		}
		t, err := parseRelTime(v, now)
		if err != nil {
			return nil, errBadDate(v)
		}
		cmp := func(b *Bug) int { return bugTime(b, field).Compare(t) }
		switch op {
		case "equals", "anyexact":
			return func(b *Bug) bool { return cmp(b) == 0 }, nil
		case "notequals":
			return func(b *Bug) bool { return cmp(b) != 0 }, nil
		case "lessthan", "changedbefore":
			return func(b *Bug) bool { return cmp(b) < 0 }, nil
		case "lessthaneq":
			return func(b *Bug) bool { return cmp(b) <= 0 }, nil
		case "greaterthan", "changedafter":
			return func(b *Bug) bool { return cmp(b) > 0 }, nil
		case "greaterthaneq":
			return func(b *Bug) bool { return cmp(b) >= 0 }, nil
		}
		return nil, errf(http.StatusBadRequest, 32000, "Can't use %s as an operator for %s.", op, field)
	}
	vals := []string{v}
	some := func(f func(string) bool) pred {
		return func(b *Bug) bool { return anyValue(values(b, field), f) }
	}
	switch op {
	case "equals":
		return some(func(x string) bool { return strings.EqualFold(x, v) }), nil
	case "notequals":
		return func(b *Bug) bool { return !containsFold(values(b, field), v) }, nil
	case "anyexact":
		return anyExact(field, strings.Split(v, ",")), nil
	case "substring":
		return some(func(x string) bool { return substrFold(x, v) }), nil
	case "casesubstring":
		return some(func(x string) bool { return strings.Contains(x, v) }), nil
	case "notsubstring":
		return func(b *Bug) bool { return !anyValue(values(b, field), func(x string) bool { return substrFold(x, v) }) }, nil
	case "regexp", "notregexp":
		re, err := regexp.Compile("(?i)" + v)
		if err != nil {
			return nil, fmt.Errorf("invalid regexp %q: %w", v, err)
		}
		if op == "regexp" {
			return some(re.MatchString), nil
		}
		return func(b *Bug) bool { return !anyValue(values(b, field), re.MatchString) }, nil
	case "anywordssubstr":
		return anyWordsSubstr(field, vals), nil
	case "allwordssubstr":
		return allWordsSubstr(field, vals), nil
	case "nowordssubstr":
		p := anyWordsSubstr(field, vals)
		return func(b *Bug) bool { return !p(b) }, nil
	case "anywords", "allwords", "nowords":
		ws := words(vals)
		has := func(b *Bug, w string) bool {
			for _, x := range values(b, field) {
				if containsFold(strings.Fields(x), w) {
					return true
				}
			}
			return false
		}
		return func(b *Bug) bool {
			n := 0
			for _, w := range ws {
				if has(b, w) {
					n++
				}
			}
			switch op {
			case "anywords":
				return n > 0
			case "allwords":
				return n == len(ws)
			}
			return n == 0
		}, nil
	case "lessthan", "lessthaneq", "greaterthan", "greaterthaneq":
		return some(func(x string) bool {
			c := compareValues(x, v)
			switch op {
			case "lessthan":
				return c < 0
			case "lessthaneq":
				return c <= 0
			case "greaterthan":
				return c > 0
			}
			return c >= 0
		}), nil
	case "isempty":
		return func(b *Bug) bool { return !anyValue(values(b, field), func(x string) bool { return x != "" }) }, nil
	case "isnotempty":
		return func(b *Bug) bool { return anyValue(values(b, field), func(x string) bool { return x != "" }) }, nil
	}
	return nil, errf(http.StatusBadRequest, 32000, "Can't use %s as an operator for %s.", op, field)
}

func compareValues(a, b string) int {
	x, err1 := strconv.Atoi(a)
	y, err2 := strconv.Atoi(b)
	if err1 == nil && err2 == nil {
		return x - y
	}
	return strings.Compare(a, b)
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
