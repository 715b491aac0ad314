// SPDX-License-Identifier: GPL-3.0-or-later

package policy

import (
	"slices"
	"testing"
)

// TestRoles: roles are read in one place. A [[user]] entry's roles count
// whatever their case and spaces; a tree maintainer is a maintainer;
// security and admin may act on restricted bugs, maintainers on public
// ones only; admin is a role of its own, not every role.
func TestRoles(t *testing.T) {
	for _, tc := range []struct {
		name                  string
		a                     Actor
		list                  []string
		security, maintainer  bool
		hasMaintainer, hasAdm bool
	}{
		{"no role", Actor{Login: "x@g.org"}, nil, false, false, false, false},
		{"tree maintainer", Actor{Login: "x@g.org", TreeMaintainer: true}, []string{"maintainer"}, false, true, true, false},
		{"maintainer role", Actor{Login: "x@g.org", Roles: []string{"maintainer"}}, []string{"maintainer"}, false, true, true, false},
		{"security, odd case", Actor{Login: "x@g.org", Roles: []string{" Security "}}, []string{"security"}, true, true, false, false},
		{"admin", Actor{Login: "x@g.org", Roles: []string{"admin"}}, []string{"admin"}, true, true, false, true},
		{"admin twice and a tree", Actor{Login: "x@g.org", Roles: []string{"admin", "ADMIN"}, TreeMaintainer: true}, []string{"admin", "maintainer"}, true, true, true, true},
	} {
		if got := tc.a.RoleList(); !slices.Equal(got, tc.list) {
			t.Errorf("%s: RoleList = %q, want %q", tc.name, got, tc.list)
		}
		if tc.a.Security() != tc.security || tc.a.Maintainer() != tc.maintainer {
			t.Errorf("%s: Security %v, Maintainer %v; want %v, %v", tc.name, tc.a.Security(), tc.a.Maintainer(), tc.security, tc.maintainer)
		}
		if tc.a.Has("maintainer") != tc.hasMaintainer || tc.a.Has("admin") != tc.hasAdm {
			t.Errorf("%s: Has(maintainer) %v, Has(admin) %v; want %v, %v", tc.name, tc.a.Has("maintainer"), tc.a.Has("admin"), tc.hasMaintainer, tc.hasAdm)
		}
	}
	if !HasRole([]string{"security", " Admin"}, "admin") || HasRole([]string{"security"}, "admin") || HasRole(nil, "admin") {
		t.Error("HasRole")
	}
}
