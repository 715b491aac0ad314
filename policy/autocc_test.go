// SPDX-License-Identifier: GPL-3.0-or-later

package policy

import (
	"slices"
	"testing"

	"github.com/ksecbot/ksecbot/bugzilla"
)

// TestAutoCC is the auto-CC rule: public bugs get every wanted login;
// restricted bugs only the logins listed in restricted_auto_cc, matched as
// whole addresses; the others are held back until the bug is public.
func TestAutoCC(t *testing.T) {
	want := []string{"kernel-security@gentoo.org", "kernel@gentoo.org", "hardened@gentoo.org"}
	tests := []struct {
		name         string
		want         []string
		restricted   bool
		restrictedOK []string
		add, held    []string
	}{
		{"public bug: all", want, false, nil, want, nil},
		{"public bug: the restricted list changes nothing", want, false, []string{"kernel@gentoo.org"}, want, nil},
		{"restricted, empty list (the default): all held", want, true, nil,
			nil, want},
		{"restricted, one listed", want, true, []string{"kernel-security@gentoo.org"},
			[]string{"kernel-security@gentoo.org"}, []string{"kernel@gentoo.org", "hardened@gentoo.org"}},
		{"restricted, listed in other case", want, true, []string{"KERNEL-Security@Gentoo.org"},
			[]string{"kernel-security@gentoo.org"}, []string{"kernel@gentoo.org", "hardened@gentoo.org"}},
		{"restricted, local part only does not match", want, true, []string{"kernel-security", "hardened"},
			nil, want},
		{"restricted, same local part in another domain does not match", want, true, []string{"hardened@evil.example"},
			nil, want},
		{"restricted, listed login not wanted is not added", []string{"kernel@gentoo.org"}, true, []string{"security@gentoo.org"},
			nil, []string{"kernel@gentoo.org"}},
		{"restricted, all listed", want, true, want, want, nil},
		{"nothing wanted", nil, true, want, nil, nil},
		{"blank logins ignored", []string{" ", "", "kernel@gentoo.org"}, false, nil, []string{"kernel@gentoo.org"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := &bugzilla.Bug{ID: 1}
			if tt.restricted {
				b.Groups = []string{"security"}
			}
			d := AutoCC(tt.want, b, tt.restrictedOK)
			if !slices.Equal(d.Add, tt.add) || !slices.Equal(d.Held, tt.held) {
				t.Errorf("AutoCC = add %q, held %q; want add %q, held %q", d.Add, d.Held, tt.add, tt.held)
			}
		})
	}
}
