// SPDX-License-Identifier: GPL-3.0-or-later

package bugzilla

import "testing"

func TestSameLogin(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"kernel@gentoo.org", "Kernel@Gentoo.org", true},
		{"kernel", "kernel@gentoo.org", true},
		{"kernel@gentoo.org", "kernel", true},
		{"kernel@gentoo.org", "kernel@example.org", false},
		{"security-kernel@gentoo.org", "kernel@gentoo.org", false},
		{"kernel", "hardened", false},
		{"", "", false},
		{" kernel@gentoo.org ", "kernel@gentoo.org", true},
		{"alice", "bob@gentoo.org", false},
		{"", "x@y", false},
	} {
		if got := SameLogin(tc.a, tc.b); got != tc.want {
			t.Errorf("SameLogin(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
	if !LoginIn("kernel", []string{"a@b", "kernel@gentoo.org"}) || LoginIn("x", nil) {
		t.Error("LoginIn wrong")
	}
}
