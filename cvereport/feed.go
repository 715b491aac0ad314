// SPDX-License-Identifier: GPL-3.0-or-later

// The kernel CVE watch's lines, rendered at send time.

package cvereport

import (
	"fmt"
	"slices"
	"strings"

	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/config"
	"github.com/ksecbot/ksecbot/kernelcve"
	"github.com/ksecbot/ksecbot/policy"
	"github.com/ksecbot/ksecbot/store"
	"github.com/ksecbot/ksecbot/trees"
)

// Feed renders the CVE watch's lines from the records and the trees as
// they are when a line is sent: it implements announce.CVEFeedRenderer.
// Safe for concurrent use.
type Feed struct {
	Checker *Checker
	Trees   []config.Tree
}

// feedBudget is the most bytes a feed line may take before it is
// shortened: the IRC transport sends a line as at most 4 IRC lines.
const feedBudget = 1400

// RecordURL is where people read a CVE record.
func RecordURL(id string) string { return "https://www.cve.org/CVERecord?id=" + id }

// RenderCVE renders one watch intent for a channel.
func (f *Feed) RenderCVE(in store.CVEIntent, ch chat.Channel) (lines, detail []chat.Line, ok bool) {
	if f == nil || f.Checker == nil || len(in.IDs) == 0 {
		return nil, nil, false
	}
	switch in.What {
	case store.CVENew, store.CVEChanged:
		rep := f.Checker.Report(in.IDs[0], f.Trees)
		if !rep.Found {
			return nil, nil, false
		}
		return []chat.Line{f.recordLine(&rep, in)}, nil, true
	case store.CVERejected:
		rep := f.Checker.Report(in.IDs[0], f.Trees)
		l := chat.Line{}.Text("Kernel CVE ").Bold(rep.CVE).Text(" was rejected by the kernel CNA")
		if rep.Title != "" {
			l = l.Text(" (").Quote(chat.Clean(rep.Title, 120)).Text(")")
		}
		return []chat.Line{l.Text(": announced here before, nothing to do for it now. ").Link(RecordURL(rep.CVE), RecordURL(rep.CVE))}, nil, true
	case store.CVEDigest:
		return f.digest(in, ch)
	}
	return nil, nil, false
}

// recordLine is one record's line: the CVE, its title, the affected trees
// highlighted with their versions and fixes, the others named.
func (f *Feed) recordLine(rep *Report, in store.CVEIntent) chat.Line {
	l := chat.Line{}.Text("Kernel CVE ")
	if in.What == store.CVEChanged {
		l = l.Text("updated: ")
	}
	l = l.Bold(rep.CVE)
	if rep.Title != "" {
		l = l.Text(" ").Quote(chat.Clean(rep.Title, 120))
	}
	if rep.Err != nil {
		return l.Text(" (record unreadable) ").Link(RecordURL(rep.CVE), RecordURL(rep.CVE))
	}
	byName := map[string]config.Tree{}
	for _, t := range f.Trees {
		byName[t.Name] = t
	}
	var affected []TreeVerdict
	quiet := map[kernelcve.Status][]string{}
	for _, tv := range rep.Rollup {
		if tv.Status == kernelcve.Affected {
			affected = append(affected, tv)
			continue
		}
		quiet[tv.Status] = append(quiet[tv.Status], tv.Tree)
	}
	// The whole text, then shorter ones if it would not fit.
	for _, short := range []bool{false, true} {
		out := l
		for _, tv := range affected {
			t := byName[tv.Tree]
			out = out.Text(" · ")
			pinged := policy.CVEPings(t) && (in.What != store.CVEChanged || slices.Contains(in.Trees, t.Name))
			if pinged {
				out = out.Mention(trees.Highlight(t))
			} else {
				out = out.Bold(t.Name)
			}
			text := rep.TreeText(t.Name)
			if short {
				text = rep.TreeTextShort(t.Name)
			}
			out = out.Text(" " + text)
		}
		for _, st := range []kernelcve.Status{kernelcve.Unknown, kernelcve.Fixed, kernelcve.Unaffected} {
			if len(quiet[st]) > 0 {
				out = out.Text(" · " + string(st) + ": " + strings.Join(quiet[st], ", "))
			}
		}
		out = out.Text(" · ").Link(RecordURL(rep.CVE), RecordURL(rep.CVE))
		if short || len(out.Plain("")) <= feedBudget {
			return out
		}
	}
	return l
}

// digest renders a burst: a head line with the counts, then one line per
// affected tree (highlighted) with what bumps fix how many; the Detail
// lists every record for the networks that show it.
func (f *Feed) digest(in store.CVEIntent, ch chat.Channel) (lines, detail []chat.Line, ok bool) {
	reps := f.Checker.Reports(in.IDs, f.Trees)
	found := 0
	for i := range reps {
		if reps[i].Found {
			found++
		}
	}
	head := chat.Line{}.Text(fmt.Sprintf("Kernel CVE watch: %d new or changed kernel CVE records affect trees here", found))
	if in.Others > 0 {
		head = head.Text(fmt.Sprintf(" (%d more affect none)", in.Others))
	}
	lines = []chat.Line{head.Text("; per tree:")}
	for _, t := range f.Trees {
		ex := ExposureOf(t.Name, f.Checker.CurrentItems(t), reps)
		n := ex.Count()
		if n == 0 {
			continue
		}
		l := chat.Line{}
		if policy.CVEPings(t) {
			l = l.Mention(trees.Highlight(t))
		} else {
			l = l.Bold(t.Name)
		}
		l = l.Text(fmt.Sprintf(" %s of them", plural(n, "CVE")))
		for _, v := range ex.Versions {
			if len(v.Affected) == 0 && len(v.Unknown) == 0 {
				continue
			}
			l = l.Text(" · " + v.Name() + ": " + v.Text(3))
		}
		if txt := l.Plain(""); len(txt) > feedBudget {
			l = l[:1].Text(fmt.Sprintf(" %s of them", plural(n, "CVE")))
		}
		lines = append(lines, l.Text(" · !exposure "+t.Name))
	}
	if len(lines) == 1 {
		lines[0] = chat.Line{}.Text(fmt.Sprintf("Kernel CVE watch: %d new or changed kernel CVE records, none affects a tree now", found))
	}
	for i := range reps {
		r := &reps[i]
		if !r.Found {
			continue
		}
		var hit []string
		for _, tv := range r.Rollup {
			if tv.Status == kernelcve.Affected {
				hit = append(hit, tv.Tree)
			}
		}
		d := chat.Line{}.Bold(r.CVE).Text(" ").Quote(chat.Clean(r.Title, 100))
		if len(hit) > 0 {
			d = d.Text(": affects " + strings.Join(hit, ", "))
		}
		detail = append(detail, d)
	}
	return lines, detail, true
}
