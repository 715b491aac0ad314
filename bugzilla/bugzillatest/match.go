// SPDX-License-Identifier: GPL-3.0-or-later

// How one search criterion matches a bug: the fields a boolean chart
// names, the values a bug has for them, and the operators (equals,
// substring, anywordssubstr, greaterthan, ...).

package bugzillatest

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

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
