// SPDX-License-Identifier: GPL-3.0-or-later

package policy

import (
	"github.com/ksecbot/ksecbot/bugzilla"
	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/config"
	"github.com/ksecbot/ksecbot/trees"
)

// Seen is what a channel may see of one bug in one kind of line, as See
// decided it. Its fields are unexported: only See makes one, and the zero
// Seen shows nothing. A renderer takes a Seen, never a bare bug, so it
// cannot show a bug without the policy having been asked.
type Seen struct {
	view View
	b    *bugzilla.Bug
	ch   chat.Channel
	what What
	p    *Policy
}

// View returns how much of the bug the channel may see.
func (s Seen) View() View { return s.view }

// ID returns the bug's number: what every line about it may show, withheld
// ones included (0 for the zero Seen).
func (s Seen) ID() int {
	if s.b == nil {
		return 0
	}
	return s.b.ID
}

// Embargoed reports whether the bug is restricted in Bugzilla (in an
// embargo group, Restricted): what a change line may say of it in any view
// ("Bug N is now restricted").
func (s Seen) Embargoed() bool { return Restricted(s.b) }

// Full returns the bug's details when the channel may see it in full;
// ok is false for a withheld bug and for a line not to be sent.
func (s Seen) Full() (f Full, ok bool) {
	if s.view != InFull || s.b == nil {
		return Full{}, false
	}
	return Full{s: s}, true
}

// Full is a bug shown in full to one channel in one kind of line: the only
// way to its details (summary, whiteboard, aliases and CVEs, severity,
// logins as e-mail addresses, the trees it concerns) and to the highlights
// the line may carry. Its field is unexported, so only this package makes
// one, in Seen.Full, after deciding that the channel may see the bug in
// full: every function that renders details takes a Full, and so none can
// render them without the policy's consent. The zero Full holds no bug.
type Full struct{ s Seen }

// Bug returns the bug, for rendering to the channel the decision was made
// for; nil for the zero Full.
func (f Full) Bug() *bugzilla.Bug { return f.s.b }

// Channel returns the channel the bug may be shown in full to.
func (f Full) Channel() chat.Channel { return f.s.ch }

// Embargoed reports whether the bug is restricted (Restricted): a private
// channel shows it marked "(restricted)".
func (f Full) Embargoed() bool { return Restricted(f.s.b) }

// Highlights returns whom the line may highlight: the maintainers of the
// trees the bug concerns, for announcements, digests and reminders; no one
// for change lines and descriptions.
func (f Full) Highlights() []chat.Highlight {
	switch f.s.what {
	case Announce, Digest, Remind:
	default:
		return nil
	}
	out := []chat.Highlight{}
	for _, t := range f.Trees() {
		out = append(out, trees.Highlight(t))
	}
	return out
}

// Trees returns the trees the bug concerns (trees.Registry.Match).
func (f Full) Trees() []config.Tree {
	if f.s.b == nil || f.s.p == nil || f.s.p.Trees == nil {
		return nil
	}
	list, _ := f.s.p.Trees.Match(f.s.b)
	return list
}

// Login returns a login of the bug (assignee, CC) as the channel may show
// it (ShowLogin).
func (f Full) Login(login string) string { return ShowLogin(login, f.s.ch) }
