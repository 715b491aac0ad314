// SPDX-License-Identifier: GPL-3.0-or-later

// Package policy is the single place that decides what a restricted
// (embargoed, group-protected) kernel security bug may reach.
//
// For a bug as it is now and a channel as it is configured now, See says
// what the channel may see of the bug - everything (InFull), only that a
// restricted bug exists (Withheld) or nothing - and whom a line about it
// may highlight. It answers with a Seen; a bug's details come only from
// the Full a Seen gives for a channel that may see them (full.go), so a
// renderer cannot show them without asking.
//
// Restriction itself (Bug.Restricted, Bug.Sight) is read only in this
// package (TestOnlyPolicyDecidesSight walks the code). The write side (which identity may change which bug: write.go)
// and the auto-CC rules (autocc.go) live here too. Nothing else in ksecbot
// decides visibility or authorisation: the renderer (package announce), the
// deliverer (package bot), the commands and auto-CC ask this package.
//
// Decisions are made at the last moment: outbox rows are intents rendered
// at send time, so a bug restricted after it was queued, or a channel made
// public by a reload, is judged as it is when the line goes out. A bug
// that is not in the mirror (nil), gone out of ksecbot's sight, or not
// read since Bugzilla began refusing the API key is treated as restricted:
// when in doubt, withhold.
//
// The rules are written down once, as the tables in policy_test.go.
package policy

import (
	"github.com/ksecbot/ksecbot/bugzilla"
	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/trees"
)

// Values of the [announce] restricted setting: what public channels get
// of a restricted bug.
const (
	// RestrictedWithhold: a line that says a restricted bug exists, with
	// its number and link only (the default).
	RestrictedWithhold = "withhold"
	// RestrictedSkip: nothing at all.
	RestrictedSkip = "skip"
)

// View is how much of a bug a channel may see.
type View int

// Views, from least to most.
const (
	// Nothing: the line is not sent to the channel.
	Nothing View = iota
	// Withheld: only the bug's number and link, that it is restricted and
	// the kind of line ("new", "still unclaimed", "resolved"): no summary,
	// whiteboard, alias, severity, logins, tree names or highlights.
	Withheld
	// InFull: every detail, and the highlights the line carries (Full).
	InFull
)

// String names a view (tests and logs).
func (v View) String() string {
	switch v {
	case Nothing:
		return "nothing"
	case Withheld:
		return "withheld"
	case InFull:
		return "full"
	}
	return "invalid"
}

// What is the kind of line being shown about a bug.
type What string

// Kinds of lines.
const (
	// Announce is the announcement of a new bug.
	Announce What = "announce"
	// Digest is one line for a burst of new bugs.
	Digest What = "digest"
	// Remind re-highlights a bug still unclaimed.
	Remind What = "remind"
	// ChangeState is a change whose mere fact says nothing about the
	// bug's content: reopened, resolved, restricted or made public.
	ChangeState What = "change-state"
	// ChangeDetail is a change that reveals content: severity, grade.
	ChangeDetail What = "change-detail"
	// Describe is the one-line description asked for with !bug or a
	// link preview.
	Describe What = "describe"
)

// ChangeWhat returns the kind of line for a change event (store.Event*
// kinds: "reopened", "resolved", "restricted", "severity", "whiteboard").
// Unknown kinds count as revealing detail.
func ChangeWhat(eventKind string) What {
	switch eventKind {
	case "reopened", "resolved", "restricted":
		return ChangeState
	}
	return ChangeDetail
}

// Policy holds the configuration the decisions depend on. A Policy is
// built from one configuration and replaced as a whole on reload; it is
// immutable and safe for concurrent use.
type Policy struct {
	// Restricted is RestrictedWithhold (also when empty) or RestrictedSkip.
	Restricted string
	// Trees is the tree registry used for highlights (nil: no highlights).
	Trees *trees.Registry
}

// Private reports whether a channel is private in the security sense: one
// the operator marked private = true and keeps invite-only. Only there may
// a reply or line show what concerns restricted bugs (their details, trees
// and CVEs, and figures that could tell them, such as per-tree statistics)
// and e-mail addresses.
//
// A private message (chat.Incoming.Direct) is not a private channel, and
// the transports never mark its channel private: anyone may open one,
// identified or not, linked or not, with any role, and an IRC reply goes to
// a nick, which may belong to someone else by the time it is sent. A
// private message sees what a public channel sees.
func Private(ch chat.Channel) bool { return ch.Private }

// Hidden reports whether a channel must not see the bug's details: the bug
// is Secret and the channel is not Private.
func Hidden(b *bugzilla.Bug, ch chat.Channel) bool {
	return !Private(ch) && Secret(b)
}

// Secret reports whether a bug's details are for private channels only:
// it is restricted, or ksecbot cannot vouch that it is public - not in the
// mirror (nil), gone out of ksecbot's sight (restricted into a group its
// account is not in, or deleted), or not read since Bugzilla began
// refusing the API key (it may have been restricted meanwhile).
func Secret(b *bugzilla.Bug) bool {
	return b == nil || b.Restricted() || b.Sight.Gone || b.Sight.Unconfirmed
}

// See returns what a channel may see of a bug in a line of kind what:
// its View and, for InFull, the bug's details (Seen.Full).
//
// Public bugs are shown in full everywhere, restricted bugs in full only
// in private channels. In public channels a restricted bug is withheld
// (announce.restricted = "withhold") or not mentioned at all ("skip");
// changes that reveal content (severity, grade) are never mentioned, and
// an explicit question (!bug, previews) always gets the withheld answer.
func (p *Policy) See(b *bugzilla.Bug, ch chat.Channel, what What) Seen {
	return Seen{view: p.view(b, ch, what), b: b, ch: ch, what: what, p: p}
}

// view is the decision of See.
func (p *Policy) view(b *bugzilla.Bug, ch chat.Channel, what What) View {
	if !Hidden(b, ch) {
		return InFull
	}
	switch what {
	case Describe:
		return Withheld
	case ChangeDetail:
		return Nothing
	}
	if p != nil && p.Restricted == RestrictedSkip {
		return Nothing
	}
	return Withheld
}
