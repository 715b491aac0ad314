// SPDX-License-Identifier: GPL-3.0-or-later

package bugzillatest

import (
	"crypto/rand"
	"net/http"
	"sort"
	"strconv"
	"strings"
)

const alnum = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alnum[int(b[i])%len(alnum)]
	}
	return string(b)
}

func (s *Server) userJSON(c *call, u *user) map[string]any {
	m := map[string]any{"id": u.id, "name": s.filterEmail(c, u.Login), "real_name": u.RealName}
	if c.anonymous() {
		return m
	}
	self := c.caller == u
	admin := c.caller.in("admin")
	m["email"] = u.Login
	m["can_login"] = true
	groups := []map[string]any{}
	if self || admin {
		for _, g := range u.Groups {
			groups = append(groups, map[string]any{"id": groupID(g), "name": g, "description": g + " group"})
		}
	}
	m["groups"] = groups
	if self {
		m["saved_searches"], m["saved_reports"] = []any{}, []any{}
	}
	if admin && !self {
		m["email_enabled"], m["login_denied_text"] = true, ""
	}
	return m
}

func groupID(name string) int {
	switch name {
	case "admin":
		return 1
	case "editbugs":
		return 8
	case "security":
		return 15
	}
	return 100 + len(name)
}

// getUsers serves GET /rest/user (names, ids, match) and /rest/user/{x}.
func (s *Server) getUsers(c *call, names, ids, match []string) (result, *apiError) {
	if c.anonymous() && (len(ids) > 0 || len(match) > 0) {
		return result{}, errf(http.StatusUnauthorized, 505, "Logged-out users cannot use the \"ids\" or \"match\" argument to this function to access any user information.")
	}
	var found []*user
	add := func(u *user) {
		for _, f := range found {
			if f == u {
				return
			}
		}
		found = append(found, u)
	}
	for _, n := range names {
		u := s.userByLogin(n)
		if u == nil {
			return result{}, errNoUser(n)
		}
		add(u)
	}
	for _, v := range ids {
		id, err := strconv.Atoi(v)
		u := s.userByID(id)
		if err != nil || u == nil {
			return result{}, errf(http.StatusBadRequest, 52, "'%s' is not a valid user id.", v)
		}
		add(u)
	}
	for _, m := range match {
		var hits []*user
		if u := s.userByLogin(m); u != nil {
			hits = append(hits, u)
		} else if len(m) >= 3 {
			for _, u := range s.users {
				if substrFold(u.Login, m) || substrFold(u.RealName, m) {
					hits = append(hits, u)
				}
			}
		}
		sort.Slice(hits, func(i, j int) bool { return hits[i].Login < hits[j].Login })
		for _, u := range hits {
			add(u)
		}
	}
	fs := newFieldSet(c)
	out := []map[string]any{}
	for _, u := range found {
		m := s.userJSON(c, u)
		if fs.include != nil || fs.exclude != nil {
			var def []string
			for k := range m {
				def = append(def, k)
			}
			m = fs.filter(m, def)
		}
		out = append(out, m)
	}
	return ok200(map[string]any{"users": out})
}

// getProducts serves GET /rest/product?names=...&ids=...
func (s *Server) getProducts(c *call) (result, *apiError) {
	out := []map[string]any{}
	for _, p := range s.products {
		want := false
		for _, n := range c.q["names"] {
			want = want || strings.EqualFold(n, p.name)
		}
		for _, id := range c.q["ids"] {
			want = want || id == strconv.Itoa(p.id)
		}
		if !want {
			continue
		}
		comps := []map[string]any{}
		for _, cp := range p.components {
			comps = append(comps, map[string]any{
				"id": cp.id, "name": cp.name, "description": cp.description,
				"default_assigned_to": s.filterEmail(c, cp.defaultAssignee), "default_qa_contact": "",
				"is_active": true, "sort_key": 0,
				"flag_types": map[string]any{"bug": []any{}, "attachment": []any{}},
			})
		}
		out = append(out, map[string]any{
			"id": p.id, "name": p.name, "description": p.description, "is_active": true,
			"classification": "Unclassified", "default_milestone": "---", "has_unconfirmed": true,
			"components": comps,
			"versions":   []map[string]any{{"id": p.id, "name": "unspecified", "sort_key": 0, "is_active": true}},
			"milestones": []map[string]any{{"id": p.id, "name": "---", "sort_key": 0, "is_active": true}},
		})
	}
	return ok200(map[string]any{"products": out})
}
