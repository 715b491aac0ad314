// SPDX-License-Identifier: GPL-3.0-or-later

package policy

import (
	"fmt"
	"slices"
	"testing"

	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/config"
)

// The write rules, written down once. For each bug kind (public,
// restricted), each write (command and, for !cc, the kind of login it
// adds) and each caller (column), the expected answer: "ok" or the refusal
// reason.
//
// Callers: unlinked (no [[user]] login), none (linked, no role, in no
// tree), tree (listed in a tree's bugzilla or matrix list, no role),
// maint (roles = ["maintainer"]), sec (security), admin.
//
// Writes: claim; claim --force; unclaim of a bug assigned to the caller;
// unclaim of someone else's bug; cc of a tree login; cc of a [[user]]
// login; cc of an outside login; cc of a tree login's local part at
// another domain (kernel@example.net, not kernel@gentoo.org); cc of a
// tree login without its domain ("kernel").
var writeRules = map[string]map[string][6]string{
	//                  unlinked      none       tree           maint          sec   admin
	"public": {
		"claim":         {"not-linked", "no-role", "ok", "ok", "ok", "ok"},
		"claim-force":   {"not-linked", "no-role", "force", "force", "ok", "ok"},
		"unclaim-own":   {"not-linked", "no-role", "ok", "ok", "ok", "ok"},
		"unclaim-other": {"not-linked", "no-role", "not-assignee", "not-assignee", "ok", "ok"},
		"cc-tree":       {"not-linked", "no-role", "ok", "ok", "ok", "ok"},
		"cc-user":       {"not-linked", "no-role", "ok", "ok", "ok", "ok"},
		"cc-outside":    {"not-linked", "no-role", "outside-login", "outside-login", "ok", "ok"},
		"cc-otherdom":   {"not-linked", "no-role", "outside-login", "outside-login", "ok", "ok"},
		"cc-short":      {"not-linked", "no-role", "outside-login", "outside-login", "ok", "ok"},
	},
	"restricted": {
		"claim":         {"not-linked", "no-role", "restricted", "restricted", "ok", "ok"},
		"claim-force":   {"not-linked", "no-role", "restricted", "restricted", "ok", "ok"},
		"unclaim-own":   {"not-linked", "no-role", "restricted", "restricted", "ok", "ok"},
		"unclaim-other": {"not-linked", "no-role", "restricted", "restricted", "ok", "ok"},
		"cc-tree":       {"not-linked", "no-role", "restricted", "restricted", "ok", "ok"},
		"cc-user":       {"not-linked", "no-role", "restricted", "restricted", "ok", "ok"},
		"cc-outside":    {"not-linked", "no-role", "restricted", "restricted", "ok", "ok"},
		"cc-otherdom":   {"not-linked", "no-role", "restricted", "restricted", "ok", "ok"},
		"cc-short":      {"not-linked", "no-role", "restricted", "restricted", "ok", "ok"},
	},
}

var callers = [6]string{"unlinked", "none", "tree", "maint", "sec", "admin"}

var testTrees = []config.Tree{
	{Name: "gentoo-sources", Bugzilla: []string{"kernel@gentoo.org"}, Handles: map[string][]string{"irc": {"mpagano"}, "matrix": {"@mpagano:example.org"}}, Members: map[string][]string{"matrix": {"@mpagano:example.org"}}},
	{Name: "hardened", Bugzilla: []string{"hardened@gentoo.org"}, Handles: map[string][]string{"matrix": {"@bob:example.org"}}, Members: map[string][]string{"matrix": {"@bob:example.org"}}},
}

var testUsers = []config.User{
	{Bugzilla: "alice@gentoo.org", Accounts: map[string]string{"irc": "alice"}, Roles: []string{"security"}},
	{Bugzilla: "kernel@gentoo.org", Accounts: map[string]string{"irc": "mpagano"}},
	{Bugzilla: "carol@gentoo.org", Accounts: map[string]string{"irc": "carol"}},
	{Bugzilla: "dave@gentoo.org", Accounts: map[string]string{"irc": "dave"}, Roles: []string{"maintainer"}},
	{Bugzilla: "root@gentoo.org", Accounts: map[string]string{"irc": "root"}, Roles: []string{"admin"}},
}

// actor builds the caller of a column the way commands does: roles from
// the [[user]] entry, tree membership from MaintainedTrees.
func actor(w *Writes, kind string) Actor {
	var login string
	switch kind {
	case "unlinked":
		return Actor{}
	case "none":
		login = "carol@gentoo.org"
	case "tree":
		login = "kernel@gentoo.org"
	case "maint":
		login = "dave@gentoo.org"
	case "sec":
		login = "alice@gentoo.org"
	case "admin":
		login = "root@gentoo.org"
	}
	a := Actor{Login: login}
	for _, u := range testUsers {
		if u.Bugzilla == login {
			a.Roles = u.Roles
		}
	}
	a.TreeMaintainer = len(w.MaintainedTrees(login, nil)) > 0
	return a
}

func request(w *Writes, bug, write, caller string) WriteRequest {
	req := WriteRequest{Actor: actor(w, caller), Restricted: bug == "restricted"}
	switch write {
	case "claim":
		req.Command = WriteClaim
	case "claim-force":
		req.Command, req.Force = WriteClaim, true
	case "unclaim-own":
		req.Command, req.Assignee = WriteUnclaim, req.Actor.Login
		if req.Assignee == "" {
			req.Assignee = "security@gentoo.org"
		}
	case "unclaim-other":
		req.Command, req.Assignee = WriteUnclaim, "someone@gentoo.org"
	case "cc-tree":
		req.Command, req.Add = WriteCC, []string{"hardened@gentoo.org"}
	case "cc-user":
		req.Command, req.Add = WriteCC, []string{"Carol@Gentoo.org"}
	case "cc-outside":
		req.Command, req.Add = WriteCC, []string{"eve@example.com"}
	case "cc-otherdom":
		req.Command, req.Add = WriteCC, []string{"kernel@example.net"}
	case "cc-short":
		req.Command, req.Add = WriteCC, []string{"kernel"}
	default:
		panic("unknown write " + write)
	}
	return req
}

func TestWriteRules(t *testing.T) {
	w := NewWrites(testTrees, testUsers)
	n := 0
	for bug, rows := range writeRules {
		for write, want := range rows {
			for i, caller := range callers {
				n++
				t.Run(fmt.Sprintf("%s/%s/%s", bug, write, caller), func(t *testing.T) {
					d := w.Write(request(w, bug, write, caller))
					got := "ok"
					if !d.Allowed {
						got = d.Reason
					}
					if got != want[i] {
						t.Errorf("got %q, want %q (decision %+v)", got, want[i], d)
					}
					if d.Allowed != (d.Reason == "") {
						t.Errorf("inconsistent decision %+v", d)
					}
				})
			}
		}
	}
	// Every combination is written down: 2 bug kinds x 9 writes x 6 callers.
	if n != 2*9*6 {
		t.Errorf("the table has %d cases, want %d: every bug kind, write and caller must be listed", n, 2*9*6)
	}
}

func TestWriteCCRefusedLogins(t *testing.T) {
	w := NewWrites(testTrees, testUsers)
	a := actor(w, "tree")
	d := w.Write(WriteRequest{Command: WriteCC, Actor: a, Add: []string{"kernel@gentoo.org", "eve@example.com", "carol@gentoo.org", "kernel@evil.org"}})
	if d.Allowed || !slices.Equal(d.Refused, []string{"eve@example.com", "kernel@evil.org"}) {
		t.Errorf("decision = %+v, want eve@example.com and kernel@evil.org refused", d)
	}
}

func TestMaintainedTreesExact(t *testing.T) {
	trees := []config.Tree{
		{Name: "gentoo-sources", Bugzilla: []string{"kernel@gentoo.org"}},
		{Name: "bare", Bugzilla: []string{"kernel"}},
		{Name: "mx", Handles: map[string][]string{"matrix": {"@bob:example.org"}}, Members: map[string][]string{"matrix": {"@bob:example.org"}}},
		{Name: "nicks", Handles: map[string][]string{"irc": {"carol"}}},
	}
	w := NewWrites(trees, nil)
	mx := func(id string) map[string]string { return map[string]string{"matrix": id} }
	for _, tc := range []struct {
		login    string
		accounts map[string]string
		want     []string
	}{
		{"kernel@gentoo.org", nil, []string{"gentoo-sources"}},
		{"KERNEL@gentoo.org ", nil, []string{"gentoo-sources"}},
		{"kernel@evil.example", nil, nil}, // another domain is another person
		{"kernel", nil, []string{"bare"}}, // a bare entry matches only the bare login
		{"bob@gentoo.org", mx("@bob:example.org"), []string{"mx"}},
		{"eve@example.com", mx("@BOB:example.org"), nil}, // Matrix IDs match exactly
		// A tree's irc list holds nicks, which are not identity: an
		// account named like a listed nick is not a maintainer.
		{"carol@example.com", map[string]string{"irc": "carol"}, nil},
		{"", nil, nil},
	} {
		if got := w.MaintainedTrees(tc.login, tc.accounts); !slices.Equal(got, tc.want) {
			t.Errorf("MaintainedTrees(%q, %v) = %v, want %v", tc.login, tc.accounts, got, tc.want)
		}
	}
}

func TestShowLogin(t *testing.T) {
	for _, tc := range []struct {
		login   string
		private bool
		want    string
	}{
		{"kernel@gentoo.org", false, "kernel"},
		{"kernel@gentoo.org", true, "kernel@gentoo.org"},
		{"kernel", false, "kernel"},
		{" a@b@c ", false, "a"},
	} {
		if got := ShowLogin(tc.login, chat.Channel{Key: "irc:#c", Private: tc.private}); got != tc.want {
			t.Errorf("ShowLogin(%q, %v) = %q, want %q", tc.login, tc.private, got, tc.want)
		}
	}
}
