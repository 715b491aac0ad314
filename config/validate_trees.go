// SPDX-License-Identifier: GPL-3.0-or-later

// Checks of the [[tree]] and [[user]] tables.

package config

import (
	"fmt"
	"regexp"
	"strings"
)

func (v *validator) trees(trees []Tree) {
	type owner struct {
		tree int
		key  string
	}
	names := map[string]owner{}
	claim := func(name, key string, tree int) {
		fold := strings.ToLower(name)
		if prev, ok := names[fold]; ok {
			if prev.tree == tree {
				v.add(key, "%q is listed twice in this tree", name)
			} else {
				v.add(key, "%q is already used by %s", name, prev.key)
			}
			return
		}
		names[fold] = owner{tree, key}
	}
	for t, tr := range trees {
		key := nth("tree", t, "name")
		if strings.TrimSpace(tr.Name) == "" {
			v.add(key, "is required (e.g. \"gentoo-sources\")")
		} else if strings.ContainsAny(tr.Name, " ,") {
			v.add(key, "%q must not contain spaces or commas", tr.Name)
		} else {
			claim(tr.Name, key, t)
		}
	}
	for t, tr := range trees {
		for k, a := range tr.Aliases {
			key := fmt.Sprintf("tree[%d].aliases[%d]", t+1, k+1)
			if strings.TrimSpace(a) == "" || strings.ContainsAny(a, " ,") {
				v.add(key, "%q must be non-empty, without spaces or commas", a)
				continue
			}
			claim(a, key, t)
		}
		for k, p := range tr.Packages {
			if !packageRE.MatchString(p) {
				v.add(fmt.Sprintf("tree[%d].packages[%d]", t+1, k+1), "%q is not a package name like sys-kernel/gentoo-sources", p)
			}
		}
		for k, b := range tr.Bugzilla {
			if strings.TrimSpace(b) == "" || strings.ContainsAny(b, " ,") {
				v.add(fmt.Sprintf("tree[%d].bugzilla[%d]", t+1, k+1), "must be one Bugzilla login; got %q", b)
			}
		}
		if tr.AutoCC && len(tr.Bugzilla) == 0 {
			v.add(nth("tree", t, "auto_cc"), "needs at least one login in bugzilla")
		}
		for pv, up := range tr.UpstreamVersions {
			key := nth("tree", t, "upstream_versions")
			switch {
			case !ebuildVersionRE.MatchString(pv):
				v.add(key, "%q is not an ebuild version without revision, like \"6.12_p5\"", pv)
			case !kernelVersionRE.MatchString(up):
				v.add(key, "%q = %q: the value must be an upstream kernel release, like \"6.12.10\"", pv, up)
			}
		}
	}
}

var (
	// ebuildVersionRE is a Gentoo package version without its -rN.
	ebuildVersionRE = regexp.MustCompile(`^[0-9]+(\.[0-9]+)*[a-z]?(_(alpha|beta|pre|rc|p)[0-9]*)*$`)
	// kernelVersionRE is an upstream kernel release: 6.12, 6.12.10,
	// 2.6.39.2, 7.1-rc2.
	kernelVersionRE = regexp.MustCompile(`^[0-9]+\.[0-9]+(\.[0-9]+){0,2}(-rc[0-9]+)?$`)
)

// users checks the [[user]] entries: a login, at least one account
// (each network's key, checked and folded as that network says, linked
// once) and known roles.
func (v *validator) users(c *Config) {
	var keys []string
	for _, n := range c.Networks {
		if n.User != nil {
			keys = append(keys, n.User.Key)
		}
	}
	linked := map[string]map[string]int{} // network -> folded account -> user
	for u, us := range c.Users {
		if strings.TrimSpace(us.Bugzilla) == "" {
			v.add(nth("user", u, "bugzilla"), "is required: the Bugzilla login that this person's commands act as")
		}
		if len(us.Accounts) == 0 && len(keys) > 0 {
			what := "set " + join(keys, "or")
			switch {
			case len(keys) == 2:
				what += " (or both)"
			case len(keys) > 2:
				what += " (or several)"
			}
			v.add(nth("user", u, keys[0]), "%s: the chat identity of %q", what, us.Bugzilla)
		}
		for _, n := range c.Networks {
			a, ok := us.Accounts[n.Name]
			if n.User == nil || !ok {
				continue
			}
			key := nth("user", u, n.User.Key)
			if n.User.Check != nil {
				if msg := n.User.Check(a); msg != "" {
					v.add(key, "%q %s", a, msg)
					continue
				}
			}
			fold := c.fold(n.Name)(a)
			if linked[n.Name] == nil {
				linked[n.Name] = map[string]int{}
			}
			if prev, dup := linked[n.Name][fold]; dup {
				v.add(key, "%q is already linked by user[%d]", a, prev+1)
			} else {
				linked[n.Name][fold] = u
			}
		}
		for r, role := range us.Roles {
			switch role {
			case RoleSecurity, RoleMaintainer, RoleAdmin:
			default:
				v.add(fmt.Sprintf("user[%d].roles[%d]", u+1, r+1), "must be security, maintainer or admin; got %q", role)
			}
		}
	}
}
