// SPDX-License-Identifier: GPL-3.0-or-later

// Package announce turns stored Bugzilla events into chat messages: one
// line per new bug with its trees' maintainers highlighted, short lines for
// important changes, digests for bursts and reminders for unclaimed bugs.
// What a channel sees of a bug and whom a line highlights is decided by
// package policy, for the bug and channel as they are when the line is
// rendered: the deliverer renders outbox intents at send time (Intent).
//
// Every method that renders a bug takes a policy.Seen, never a bug: the
// caller asks policy.Policy.See first, and a bug's details (summary,
// whiteboard, aliases, CVEs, severity, logins, trees, highlights) come
// only from the policy.Full that the Seen gives where the channel may see
// them. Withheld lines are built from the bug's number alone.
package announce

import (
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/policy"
	"github.com/ksecbot/ksecbot/trees"
)

// Restricted-bug policies (config announce.restricted); see package policy.
const (
	RestrictedWithhold = policy.RestrictedWithhold
	RestrictedSkip     = policy.RestrictedSkip
)

// maxSummary is the most of a summary a chat line carries: 255 characters
// (what Bugzilla 5.0 keeps of a summary) of up to 4 bytes each, so a
// summary is shown whole; it only bounds what a broken or hostile server
// could send. On IRC an announcement wraps into lines filled to the line
// budget (transport/irc.Wrap, at most transport/irc.MaxWrapLines).
const maxSummary = 1020

// maxDigestIDs and maxLinkIDs bound the bug numbers a digest line names
// and links, so that it fits an IRC line whatever the burst.
const (
	maxDigestIDs = 12
	maxLinkIDs   = 40
)

// maxCC is how many CC'd logins a bug description lists.
const maxCC = 6

// Renderer renders bugs as chat lines. It is immutable and safe for
// concurrent use; a reload builds a new one.
type Renderer struct {
	// URL is the Bugzilla base URL shown to users (no trailing slash).
	URL string
	// Policy decides what each channel sees of a bug and whom a line
	// highlights. It is built once per configuration, with the renderer
	// (NewRenderer); nil withholds restricted bugs and highlights no one.
	Policy *policy.Policy
	// CVE adds kernel CVE verdicts to announcements shown in full; nil:
	// off ([kernel_cve] not configured).
	CVE CVEAnnotator
	// CVEFeed renders the kernel CVE watch's lines; nil: they are not
	// sent ([kernel_cve] not configured any more).
	CVEFeed CVEFeedRenderer
}

// BugURL returns the show_bug link of a bug.
func (r *Renderer) BugURL(id int) string {
	return strings.TrimRight(r.URL, "/") + "/show_bug.cgi?id=" + strconv.Itoa(id)
}

// BuglistURL returns a buglist link naming the given bugs.
func (r *Renderer) BuglistURL(ids []int) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = strconv.Itoa(id)
	}
	return strings.TrimRight(r.URL, "/") + "/buglist.cgi?bug_id=" + url.QueryEscape(strings.Join(parts, ","))
}

// SearchURL returns a buglist link for a Bugzilla search.
func (r *Renderer) SearchURL(q url.Values) string {
	return strings.TrimRight(r.URL, "/") + "/buglist.cgi?" + q.Encode()
}

// NewRenderer builds a renderer for the Bugzilla base URL, with the
// visibility policy of one configuration: the tree registry (highlights)
// and [announce] restricted (RestrictedWithhold or RestrictedSkip).
func NewRenderer(url string, reg *trees.Registry, restricted string) *Renderer {
	return &Renderer{URL: url, Policy: &policy.Policy{Restricted: restricted, Trees: reg}}
}

// Describe renders the one-line description of a bug used by !bug and
// previews (s from See with policy.Describe): id, grade, alias, summary,
// severity, status, assignee, link. A bug the channel may not see in full
// shows only its number.
func (r *Renderer) Describe(s policy.Seen) chat.Line {
	f, ok := s.Full()
	if !ok {
		return chat.Line{}.Bold(fmt.Sprintf("Bug %d", s.ID())).
			Text(" is restricted, details withheld ").Link("", r.BugURL(s.ID()))
	}
	b := f.Bug()
	l := r.head(chat.Line{}.Bold(fmt.Sprintf("Bug %d", b.ID)), f)
	state := b.Status
	if b.Resolution != "" {
		state += " " + b.Resolution
	}
	// Public channels never show e-mail addresses: logins appear as
	// anonymous Bugzilla shows them, without the domain.
	l = l.Text(fmt.Sprintf(" (%s, %s, assigned to ", Clean(b.Severity, 40), Clean(state, 40))).
		QuoteCode(Clean(f.Login(b.AssignedTo), 80))
	if len(b.CC) > 0 {
		l = l.Text(", CC ")
		for i, cc := range b.CC {
			if i == maxCC {
				l = l.Text(fmt.Sprintf(" +%d", len(b.CC)-maxCC))
				break
			}
			if i > 0 {
				l = l.Text(" ")
			}
			l = l.QuoteCode(Clean(f.Login(cc), 80))
		}
	}
	return l.Text(") ").Link("", r.BugURL(b.ID))
}

// head appends grade, alias and summary of a bug shown in full.
func (r *Renderer) head(l chat.Line, f policy.Full) chat.Line {
	b := f.Bug()
	if g := Grade(b.Whiteboard); g != "" {
		l = l.Text(" [" + g + "]")
	}
	// The alias is shown unless the summary already names it (a CVE id
	// as both alias and part of the summary was printed twice).
	if a := b.AliasString(); a != "" && !strings.Contains(strings.ToLower(b.Summary), strings.ToLower(a)) {
		l = l.Text(" ").Quote(Clean(a, 40))
	}
	if f.Embargoed() {
		l = l.Text(" (restricted)")
	}
	return l.Text(": ").Quote(Clean(b.Summary, maxSummary))
}

// NewBug renders the announcement of a new bug (s from See with
// policy.Announce), with the maintainers of its trees highlighted. ok is
// false when the bug must not be announced there at all (restricted with
// policy "skip").
func (r *Renderer) NewBug(s policy.Seen) (l chat.Line, ok bool) {
	f, full := s.Full()
	if !full {
		if s.View() == policy.Nothing {
			return nil, false
		}
		return chat.Line{}.Text("New restricted kernel security ").Bold(fmt.Sprintf("bug %d", s.ID())).
			Text(", details withheld ").Link("", r.BugURL(s.ID())), true
	}
	b := f.Bug()
	l = r.head(chat.Line{}.Text("New kernel security ").Bold(fmt.Sprintf("bug %d", b.ID)), f)
	if b.Severity != "" {
		l = l.Text(" (").Severity(Clean(b.Severity, 40)).Text(")")
	}
	l = l.Text(" ").Link("", r.BugURL(b.ID))
	if r.CVE != nil {
		if note, ok := r.CVE.AnnotateBug(f); ok {
			return appendCVE(l, note, f.Highlights()), true
		}
	}
	return r.appendHighlights(l, f.Highlights()), true
}

// MovedIn renders the announcement of an open bug filed age ago that
// entered the watch (product/component) after ksecbot's baseline: moved in
// from another component, or made visible to ksecbot (again, when
// visibleAgain: it had gone out of ksecbot's sight). s comes from See with
// policy.Announce: it is shown and highlights like a new bug (maintainers
// must act on it); ok is false when the bug must not be announced there
// at all (restricted with "skip").
func (r *Renderer) MovedIn(s policy.Seen, watch string, visibleAgain bool, age time.Duration) (l chat.Line, ok bool) {
	how := " moved into "
	if visibleAgain {
		how = " is visible to ksecbot again in "
	}
	f, full := s.Full()
	if !full {
		if s.View() == policy.Nothing {
			return nil, false
		}
		// The watch is no secret (the channel follows it); the bug is.
		return chat.Line{}.Text("Restricted kernel security ").Bold(fmt.Sprintf("bug %d", s.ID())).
			Text(how+Clean(watch, 120)+", details withheld ").Link("", r.BugURL(s.ID())), true
	}
	b := f.Bug()
	l = chat.Line{}.Bold(fmt.Sprintf("Bug %d", b.ID)).Text(how + Clean(watch, 120))
	if age > 0 {
		l = l.Text(" (filed " + Age(age) + " ago)")
	}
	l = r.head(l, f)
	if b.Severity != "" {
		l = l.Text(" (").Severity(Clean(b.Severity, 40)).Text(")")
	}
	l = l.Text(" ").Link("", r.BugURL(b.ID))
	return r.appendHighlights(l, f.Highlights()), true
}

// appendHighlights adds " | tree: nicks; tree: nicks" to a line.
func (r *Renderer) appendHighlights(l chat.Line, hs []chat.Highlight) chat.Line {
	for i, h := range hs {
		if i == 0 {
			l = l.Text(" | ")
		} else {
			l = l.Text("; ")
		}
		l = l.Mention(h)
	}
	return l
}

// Change renders one short line about an important change of a known bug
// (reopened, resolved, severity or whiteboard change, restricted); s comes
// from See with policy.ChangeWhat(kind). It highlights nobody
// (announce.TestRestrictedNeverLeaks). ok is false when the channel must
// not get it.
func (r *Renderer) Change(kind, old, new string, s policy.Seen) (chat.Line, bool) {
	what := ""
	switch kind {
	case "reopened":
		what = "reopened"
	case "resolved":
		what = "resolved " + Clean(new, 40)
	case "severity":
		what = fmt.Sprintf("severity %s -> %s", Clean(old, 40), Clean(new, 40))
	case "whiteboard":
		if !ChangeMatters(kind, old, new) {
			return nil, false // only grade changes matter
		}
		og, ng := Grade(old), Grade(new)
		if og == "" {
			og = "none"
		}
		if ng == "" {
			ng = "none"
		}
		what = fmt.Sprintf("grade %s -> %s", og, ng)
	case "restricted":
		if new == "restricted" || new == "" && s.Embargoed() {
			what = "is now restricted"
		} else {
			what = "is no longer restricted"
		}
	default:
		return nil, false
	}
	f, full := s.Full()
	if !full {
		if s.View() == policy.Nothing {
			return nil, false
		}
		return chat.Line{}.Bold(fmt.Sprintf("Bug %d", s.ID())).Text(" (restricted) "+what+" ").Link("", r.BugURL(s.ID())), true
	}
	b := f.Bug()
	return chat.Line{}.Bold(fmt.Sprintf("Bug %d", b.ID)).Text(" "+what+": ").Quote(Clean(b.Summary, 120)).Text(" ").
		Link("", r.BugURL(b.ID)), true
}

// ChangeMatters reports whether a change event is worth a line at all,
// whoever sees it: a whiteboard change only when the grade changes.
func ChangeMatters(kind, old, new string) bool {
	switch kind {
	case "reopened", "resolved", "severity", "restricted":
		return true
	case "whiteboard":
		return Grade(old) != Grade(new)
	}
	return false
}

// Digest renders one line for a burst of new bugs (each from See with
// policy.Digest): count, ids, a buglist link and each affected tree
// highlighted once. Restricted bugs are counted but their ids appear only
// in private channels.
func (r *Renderer) Digest(bugs []policy.Seen) (chat.Line, bool) {
	var ids []int
	withheld := 0
	var hs []chat.Highlight
	seen := map[string]bool{}
	for _, s := range bugs {
		f, full := s.Full()
		if !full {
			if s.View() == policy.Withheld {
				withheld++ // no id, no tree, no highlight
			}
			continue
		}
		ids = append(ids, f.Bug().ID)
		for _, h := range f.Highlights() {
			if !seen[h.Tree] {
				seen[h.Tree] = true
				hs = append(hs, h)
			}
		}
	}
	if len(ids) == 0 && withheld == 0 {
		return nil, false
	}
	sort.Ints(ids)
	var strs []string
	for i, id := range ids {
		if i == maxDigestIDs {
			strs = append(strs, fmt.Sprintf("+%d more", len(ids)-i))
			break
		}
		strs = append(strs, strconv.Itoa(id))
	}
	l := chat.Line{}.Bold(fmt.Sprintf("%d new kernel security bugs", len(ids)+withheld))
	if len(ids) > 0 {
		l = l.Text(": " + strings.Join(strs, ", "))
	}
	if withheld > 0 {
		l = l.Text(fmt.Sprintf(" (+%d restricted, details withheld)", withheld))
	}
	if len(ids) > 0 {
		// A link must fit in one IRC line: name at most maxLinkIDs bugs.
		l = l.Text(" ").Link("", r.BuglistURL(ids[:min(len(ids), maxLinkIDs)]))
	}
	return r.appendHighlights(l, hs), true
}

// Remind renders the re-highlight of a bug nobody has claimed yet (s from
// See with policy.Remind).
func (r *Renderer) Remind(s policy.Seen, age time.Duration) (chat.Line, bool) {
	f, full := s.Full()
	if !full {
		if s.View() == policy.Nothing {
			return nil, false
		}
		return chat.Line{}.Text("Still unclaimed after "+Age(age)+": restricted ").Bold(fmt.Sprintf("bug %d", s.ID())).
			Text(", details withheld ").Link("", r.BugURL(s.ID())), true
	}
	b := f.Bug()
	l := r.head(chat.Line{}.Text("Still unclaimed after "+Age(age)+": ").Bold(fmt.Sprintf("bug %d", b.ID)), f).
		Text(" ").Link("", r.BugURL(b.ID))
	return r.appendHighlights(l, f.Highlights()), true
}

// Grade returns the security grade at the start of a Gentoo whiteboard
// ("A2 [upstream]" -> "A2"), or "".
func Grade(whiteboard string) string {
	w := strings.TrimSpace(whiteboard)
	if len(w) < 2 {
		return ""
	}
	if strings.ContainsRune("ABC~", rune(w[0])) && w[1] >= '0' && w[1] <= '4' {
		if len(w) == 2 || w[2] == ' ' || w[2] == '?' || w[2] == '[' {
			return w[:2]
		}
	}
	return ""
}

// Urgent reports whether a whiteboard grade is A0-A2: such bugs are
// announced one by one even in a burst.
func Urgent(whiteboard string) bool {
	g := Grade(whiteboard)
	return g == "A0" || g == "A1" || g == "A2"
}

// Age renders a duration the way people say it: "45m", "3h", "2d".
func Age(d time.Duration) string {
	switch {
	case d < time.Minute:
		return "<1m"
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d/time.Hour))
	default:
		return fmt.Sprintf("%dd", int(d/(24*time.Hour)))
	}
}

// Clean makes untrusted text safe to put into any chat line; see
// chat.Clean.
func Clean(s string, max int) string { return chat.Clean(s, max) }
