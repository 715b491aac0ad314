// SPDX-License-Identifier: GPL-3.0-or-later

package commands

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/ksecbot/ksecbot/announce"
	"github.com/ksecbot/ksecbot/bugzilla"
	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/config"
	"github.com/ksecbot/ksecbot/cvereport"
	"github.com/ksecbot/ksecbot/kernelcve"
)

// CVEReporter answers what a kernel CVE means for the trees.
// *cvereport.Checker implements it (and caches the reports while the
// record and the ebuilds are unchanged).
type CVEReporter interface {
	Report(id string, trees []config.Tree) cvereport.Report
	// Reports is Report for the CVEs of one bug, each package listed
	// once for all of them.
	Reports(ids []string, trees []config.Tree) []cvereport.Report
}

// cveCommand is the !cve entry of the command table.
func (r *Router) cveCommand() Command {
	return Command{Name: "cve", Usage: "cve <CVE-id|bug>", Help: "a kernel CVE (or the CVEs a bug names): title, introduced, fixed in per branch, rejected or not, and each tree's verdict.",
		More: "On Matrix a table. Needs [kernel_cve] path in the configuration.", Run: r.cmdCVE}
}

// cmdCVE implements !cve <CVE-id|bug>.
func (r *Router) cmdCVE(ctx context.Context, req *Request) []chat.Line {
	if len(req.Args) != 1 {
		return []chat.Line{r.usageLine("cve")}
	}
	if r.d.CVE == nil {
		return []chat.Line{chat.Line{}.Text("Kernel CVE data is not configured here ([kernel_cve] path in the configuration).")}
	}
	arg := req.Args[0]
	if kernelcve.ValidID(arg) {
		rep := r.d.CVE.Report(arg, r.cfg.Trees)
		return r.cveLines(&rep, req.In.Channel.Terse, "")
	}
	id, ok := parseBugID(arg)
	if !ok {
		return []chat.Line{r.usageLine("cve")}
	}
	b, err := r.lookupBug(ctx, id)
	if err != nil {
		if errors.Is(err, bugzilla.ErrNotFound) && r.d.Bugzilla == nil {
			return []chat.Line{chat.Line{}.Text(fmt.Sprintf("Bug %d is not in ksecbot's mirror.", id))}
		}
		return []chat.Line{r.bugzillaError(err, id, nil)}
	}
	if !r.watched(b) {
		// ksecbot reads with its own key: a bug outside the watches gets
		// only its link, as with !bug.
		return []chat.Line{r.describe(b, req.In.Channel)}
	}
	if !announce.Visible(b, req.In.Channel) {
		// A restricted bug's CVEs reach only private channels.
		return []chat.Line{chat.Line{}.Text(fmt.Sprintf("Bug %d is restricted: its CVEs are shown only in private channels.", id))}
	}
	ids := cvereport.BugCVEs(b)
	if len(ids) == 0 {
		return []chat.Line{chat.Line{}.Text(fmt.Sprintf("Bug %d names no CVE (alias, summary, see also).", id))}
	}
	var out []chat.Line
	reps := r.d.CVE.Reports(ids, r.cfg.Trees)
	for i := range reps {
		out = append(out, r.cveLines(&reps[i], req.In.Channel.Terse, fmt.Sprintf("bug %d: ", id))...)
	}
	return out
}

// cveLines renders one report: a head line (id, title, introduced,
// fixes), then where lines are costly (chat.Channel.Terse: IRC) one line
// of tree verdicts, elsewhere a table (tree, verdict, versions).
func (r *Router) cveLines(rep *cvereport.Report, terse bool, prefix string) []chat.Line {
	head := chat.Line{}.Text(prefix).Bold(rep.CVE)
	if !rep.Found {
		if rep.Err != nil {
			return []chat.Line{head.Text(": " + rep.Err.Error())}
		}
		return []chat.Line{head.Text(": no record in the kernel CNA's repository (not a kernel CVE, or not published yet).")}
	}
	if rep.Rejected {
		head = head.Text(" ").Bold("REJECTED")
	}
	title := rep.Title
	if title == "" {
		title = "(no title)"
	}
	head = head.Text(": " + announce.Clean(title, 120))
	if rep.Err != nil {
		return []chat.Line{head.Text(" (record unreadable: verdicts unknown)")}
	}
	head = head.Text(" · introduced " + orDash(rep.Introduced) + " · fixed in " + fixesText(rep))
	lines := []chat.Line{head}
	if len(rep.Rollup) == 0 {
		return lines
	}
	if terse {
		l := chat.Line{}
		for i, tv := range rep.Rollup {
			if i > 0 {
				l = l.Text(" · ")
			}
			l = l.Text(tv.Tree + " ").Bold(string(tv.Status))
			if d := treeDetail(rep, tv, true); d != "" {
				l = l.Text(" (" + d + ")")
			}
		}
		return append(lines, l)
	}
	lines = append(lines, chat.Line{}.Text("tree").Cell().Text("verdict").Cell().Text("versions"))
	for _, tv := range rep.Rollup {
		lines = append(lines, chat.Line{}.Text(tv.Tree).Cell().Bold(string(tv.Status)).Cell().Text(treeDetail(rep, tv, false)))
	}
	return lines
}

// fixesText lists the stable fixes and marks the mainline fix.
func fixesText(rep *cvereport.Report) string {
	if len(rep.Fixed) == 0 {
		return "no release yet"
	}
	return strings.Join(rep.Fixed, ", ")
}

// treeDetail describes a tree's versions: on IRC (short) only the
// affected ones and the stabilise notes, elsewhere every version.
func treeDetail(rep *cvereport.Report, tv cvereport.TreeVerdict, short bool) string {
	var parts []string
	for _, it := range rep.Trees {
		if it.Tree != tv.Tree {
			continue
		}
		if short && it.Status != string(kernelcve.Affected) {
			continue
		}
		s := it.Version
		if !it.Stable {
			s = "~" + s
		}
		if !short {
			s += " " + it.Status
		}
		if it.Fix != "" && it.Status == string(kernelcve.Affected) {
			s += ", fix " + it.Fix
		}
		parts = append(parts, s)
	}
	out := strings.Join(parts, "; ")
	if len(tv.Stabilise) > 0 {
		if out != "" {
			out += "; "
		}
		out += strings.Join(tv.Stabilise, "; ")
	}
	if !short && out == "" {
		out = "no versions in the repository"
	}
	return out
}

func orDash(s []string) string {
	if len(s) == 0 {
		return "unknown"
	}
	return strings.Join(s, ", ")
}

// cveMarker marks a !pending <tree> line whose bug names a kernel CVE
// that affects the tree: " [CVE affects <tree>]". Lines of bugs the
// channel may not see in full get no marker.
func (r *Router) cveMarker(l chat.Line, b *bugzilla.Bug, ch chat.Channel, tree string) chat.Line {
	if r.d.CVE == nil || !announce.Visible(b, ch) {
		return l
	}
	t, ok := r.d.Trees.Lookup(tree)
	if !ok {
		return l
	}
	// Only this tree's verdict counts: do not read every tree's packages
	// for every line of !pending.
	reps := r.d.CVE.Reports(cvereport.BugCVEs(b), []config.Tree{t})
	if st, ok := cvereport.Combine(reps, t.Name); ok && st == kernelcve.Affected {
		return l.Text(" ").Bold("[CVE affects " + t.Name + "]")
	}
	return l
}
