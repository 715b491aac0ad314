// SPDX-License-Identifier: GPL-3.0-or-later

package policy

// This file holds the write rules: whether ksecbot may change a bug in
// Bugzilla on behalf of a chat user. The bot writes with its own API key,
// so it must never do for someone what they could not do themselves (no
// confused deputy). Package commands asks Write before every !claim,
// !unclaim and !cc; nothing else decides. The table in write_test.go is the
// single place the rules are written down.

import (
	"strings"

	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/config"
)

// WriteCommand names a command that changes Bugzilla.
type WriteCommand string

// The write commands.
const (
	WriteClaim   WriteCommand = "claim"
	WriteUnclaim WriteCommand = "unclaim"
	WriteCC      WriteCommand = "cc"
)

// Refusal reasons of a WriteDecision.
const (
	// RefuseNotLinked: the caller is not identified or has no [[user]]
	// entry with a Bugzilla login.
	RefuseNotLinked = "not-linked"
	// RefuseNoRole: the caller has no role that allows the command.
	RefuseNoRole = "no-role"
	// RefuseRestricted: the bug is restricted and the caller is neither
	// security nor admin.
	RefuseRestricted = "restricted"
	// RefuseForce: !claim --force needs security or admin.
	RefuseForce = "force"
	// RefuseNotAssignee: !unclaim of a bug assigned to someone else needs
	// security or admin.
	RefuseNotAssignee = "not-assignee"
	// RefuseOutsideLogin: a maintainer's !cc names a login that is neither
	// a tree's nor a [[user]]'s.
	RefuseOutsideLogin = "outside-login"
)

// WriteRequest is one write a caller asks for.
type WriteRequest struct {
	Command WriteCommand
	Actor   Actor
	// Restricted is whether the bug is restricted as Bugzilla shows it
	// now. When the bug is not known yet (the check before reading it),
	// leave it false: the answer is then "could the caller do this on a
	// public bug".
	Restricted bool
	// Force is !claim --force.
	Force bool
	// Assignee is the bug's current assignee, for !unclaim ("" when not
	// known yet).
	Assignee string
	// Add are the logins a !cc would add.
	Add []string
}

// WriteDecision is the answer of Write.
type WriteDecision struct {
	Allowed bool
	// Reason is one of the Refuse* constants when not allowed.
	Reason string
	// Refused are the logins of Add the caller may not add
	// (RefuseOutsideLogin).
	Refused []string
}

// Writes applies the write rules for one configuration. It is immutable
// and safe for concurrent use; build a new one after a reload.
type Writes struct {
	trees []config.Tree
	known map[string]bool // lower-case logins of trees and [[user]]s
}

// NewWrites builds the write rules from the [[tree]] and [[user]] entries.
func NewWrites(trees []config.Tree, users []config.User) *Writes {
	w := &Writes{trees: append([]config.Tree(nil), trees...), known: map[string]bool{}}
	for _, t := range trees {
		for _, l := range t.Bugzilla {
			if k := loginKey(l); k != "" {
				w.known[k] = true
			}
		}
	}
	for _, u := range users {
		if k := loginKey(u.Bugzilla); k != "" {
			w.known[k] = true
		}
	}
	return w
}

// Known reports whether login is, exactly, a tree's or a [[user]]'s
// Bugzilla login: the logins a maintainer may !cc.
func (w *Writes) Known(login string) bool { return w.known[loginKey(login)] }

// MaintainedTrees returns the names of the trees that list the Bugzilla
// login (exactly: "kernel@gentoo.org" is not "kernel@example.org", and a
// tree entry "kernel" matches only a login "kernel") or one of the chat
// accounts (network name -> account) as a member (config.Tree.Member:
// Matrix IDs, never IRC nicks).
func (w *Writes) MaintainedTrees(login string, accounts map[string]string) []string {
	var out []string
	for _, t := range w.trees {
		mine := false
		for _, l := range t.Bugzilla {
			if SameAddress(l, login) {
				mine = true
			}
		}
		for network, account := range accounts {
			if t.Member(network, account) {
				mine = true
			}
		}
		if mine {
			out = append(out, t.Name)
		}
	}
	return out
}

// Write decides whether the bot may make the write for the caller:
//
//   - every write needs a linked caller;
//   - on a restricted bug, only security and admin may write;
//   - on a public bug, maintainers (by role or by being listed in a tree),
//     security and admin may write;
//   - !claim --force and !unclaim of someone else's bug need security or
//     admin;
//   - a maintainer's !cc may add only tree and [[user]] logins; security
//     and admin may add any login;
//   - any other write command follows the general rule (maintainers on
//     public bugs, security and admin on every bug).
func (w *Writes) Write(req WriteRequest) WriteDecision {
	a := req.Actor
	refuse := func(reason string) WriteDecision { return WriteDecision{Reason: reason} }
	switch {
	case strings.TrimSpace(a.Login) == "":
		return refuse(RefuseNotLinked)
	case !a.Maintainer():
		return refuse(RefuseNoRole)
	case req.Restricted && !a.Security():
		return refuse(RefuseRestricted)
	}
	switch req.Command {
	case WriteClaim:
		if req.Force && !a.Security() {
			return refuse(RefuseForce)
		}
	case WriteUnclaim:
		if req.Assignee != "" && !SameAddress(req.Assignee, a.Login) && !a.Security() {
			return refuse(RefuseNotAssignee)
		}
	case WriteCC:
		if !a.Security() {
			var out []string
			for _, l := range req.Add {
				if !w.Known(l) {
					out = append(out, l)
				}
			}
			if len(out) > 0 {
				return WriteDecision{Reason: RefuseOutsideLogin, Refused: out}
			}
		}
	}
	// Any other write command follows the general rule above.
	return WriteDecision{Allowed: true}
}

// SameAddress reports whether two Bugzilla logins are the same account:
// equal after trimming and ignoring case. Unlike bugzilla.SameLogin it
// never matches a login without a domain against one with a domain, so it
// is the comparison for anything that grants rights or picks whom to CC.
func SameAddress(a, b string) bool {
	ka, kb := loginKey(a), loginKey(b)
	return ka != "" && ka == kb
}

func loginKey(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// ShortLogin returns what anonymous Bugzilla shows of a login: the part
// before the "@" ("kernel" for "kernel@gentoo.org"). Public channels show
// logins this way, never as e-mail addresses.
func ShortLogin(login string) string {
	login = strings.TrimSpace(login)
	if local, _, ok := strings.Cut(login, "@"); ok {
		return local
	}
	return login
}

// ShowLogin returns a login as the channel may show it: the full address
// in a private channel (Private), ShortLogin elsewhere: in public
// channels and in private messages.
func ShowLogin(login string, ch chat.Channel) string {
	if Private(ch) {
		return strings.TrimSpace(login)
	}
	return ShortLogin(login)
}
