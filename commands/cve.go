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
	// CurrentItems are a tree's current versions, not judged, with the
	// reasons some have no verdict (!exposure lists every version).
	CurrentItems(t config.Tree) []cvereport.Item
}

// cveCommand is the !cve entry of the command table.
func (r *Router) cveCommand() Command {
	return Command{Name: "cve", Usage: "cve <CVE-id|bug>", Help: "a kernel CVE (or the CVEs a bug names): title, introduced, fixed in per branch, rejected or not, and each tree's verdict.",
		More: "On Matrix a table. Needs [kernel_cve] path in the configuration.", Run: r.cmdCVE}
}

// cmdCVE implements !cve <CVE-id|bug>.
func (r *Router) cmdCVE(ctx context.Context, req *Request) []chat.Line {
	if len(req.Args) != 1 {
		return []chat.Line{r.argError("cve", "give one CVE id or bug number")}
	}
	if r.d.CVE == nil {
		return []chat.Line{chat.Line{}.Text("Kernel CVE data is not configured here ([kernel_cve] path in the configuration).")}
	}
	arg := req.Args[0]
	if kernelcve.ValidID(arg) {
		rep := r.d.CVE.Report(arg, r.cfg.Trees)
		return r.cveLines(&rep, req.In.Channel.Terse, "")
	}
	if strings.HasPrefix(strings.ToUpper(arg), "CVE-") {
		// malformed, so no record can have it
		return []chat.Line{chat.Line{}.Bold(chat.Clean(arg, 40)).Text(": no record in the kernel CNA's vulns repository; a CVE id reads CVE-YYYY-NNNN: a 4-digit year, then 4 to 7 digits.")}
	}
	if !looksNumeric(arg) {
		return []chat.Line{r.argError("cve", quoteArg(arg)+" is neither a CVE id nor a bug number")}
	}
	id, bad := r.bugArg("cve", arg)
	if bad != nil {
		return []chat.Line{bad}
	}
	b, err := r.lookupBug(ctx, id, req.In.Channel)
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
	f, full := r.see(b, req.In.Channel).Full()
	if !full {
		// A restricted bug's CVEs reach only private channels.
		return []chat.Line{chat.Line{}.Text(fmt.Sprintf("Bug %d is restricted: its CVEs are shown only in private channels.", id))}
	}
	ids := cvereport.BugCVEs(f)
	if len(ids) == 0 {
		return []chat.Line{chat.Line{}.Text(fmt.Sprintf("Bug %d names no CVE (alias, summary, see also).", id))}
	}
	reps := r.d.CVE.Reports(ids, r.cfg.Trees)
	return r.bugCVELines(id, reps, req.In.Channel.Terse)
}

// bugCVEShown is how many of a bug's CVEs !cve describes in full where
// lines are costly (IRC) and elsewhere; the others are named on one line.
const (
	bugCVEShownTerse = 2
	bugCVEShownRich  = 10
)

// bugCVELines answers !cve <bug>: the first CVEs in full, then every
// other one by id with the trees it affects, so that none is left out.
func (r *Router) bugCVELines(id int, reps []cvereport.Report, terse bool) []chat.Line {
	shown := bugCVEShownRich
	if terse {
		shown = bugCVEShownTerse
	}
	prefix := fmt.Sprintf("bug %d: ", id)
	var out []chat.Line
	for i := range reps {
		if i < shown {
			out = append(out, r.cveLines(&reps[i], terse, prefix)...)
		}
	}
	if len(reps) <= shown {
		return out
	}
	l := chat.Line{}.Text(fmt.Sprintf("%sand %d more: ", prefix, len(reps)-shown))
	for i := shown; i < len(reps); i++ {
		if i > shown {
			l = l.Text(" · ")
		}
		rep := &reps[i]
		l = l.Bold(rep.CVE)
		switch {
		case !rep.Found:
			l = l.Text(" (no record)")
		case rep.Rejected:
			l = l.Text(" (rejected)")
		default:
			var hit []string
			for _, tv := range rep.Rollup {
				if tv.Status == kernelcve.Affected {
					hit = append(hit, tv.Tree)
				}
			}
			if len(hit) > 0 {
				l = l.Text(" affects " + strings.Join(hit, ", "))
			}
		}
	}
	return append(out, l)
}

// cveLines renders one report: a head line (id, title, introduced,
// fixes), then where lines are costly (chat.Channel.Terse: IRC) the
// trees grouped by verdict, one line per group, the affected ones with
// the versions to act on; elsewhere a table, one row per tree.
func (r *Router) cveLines(rep *cvereport.Report, terse bool, prefix string) []chat.Line {
	head := chat.Line{}.Text(prefix).Bold(rep.CVE)
	if !rep.Found {
		if rep.Err != nil {
			return []chat.Line{head.Text(": " + rep.Err.Error())}
		}
		return []chat.Line{head.Text(": no record in the kernel CNA's vulns repository (not a kernel CVE, or not published yet).")}
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
	if len(rep.Rollup) == 0 || rep.Rejected {
		return lines
	}
	if terse {
		return append(lines, verdictGroups(rep)...)
	}
	lines = append(lines, chat.Line{}.Text("tree").Cell().Text("verdict").Cell().Text("versions"))
	for _, tv := range rep.Rollup {
		lines = append(lines, chat.Line{}.Text(tv.Tree).Cell().Bold(string(tv.Status)).Cell().Text(treeDetail(rep, tv, false)))
	}
	return lines
}

// terseBudget is the most bytes a line of a terse answer may take: the
// IRC transport sends a line as at most 4 IRC lines of about 400 bytes.
const terseBudget = 1400

// verdictGroups are the trees of a report grouped by verdict, one line
// per group: "affected: rt-sources ~6.1.112: fix 6.1.164 · gentoo-kernel
// ...", "unknown: ...", "fixed: vanilla-sources · unaffected: ...".
func verdictGroups(rep *cvereport.Report) []chat.Line {
	by := map[kernelcve.Status][]cvereport.TreeVerdict{}
	for _, tv := range rep.Rollup {
		by[tv.Status] = append(by[tv.Status], tv)
	}
	var out []chat.Line
	for _, st := range []kernelcve.Status{kernelcve.Affected, kernelcve.Unknown} {
		if len(by[st]) == 0 {
			continue
		}
		var names, texts []string
		for _, tv := range by[st] {
			names = append(names, tv.Tree)
			texts = append(texts, treeDetail(rep, tv, true))
		}
		out = append(out, chat.Line{}.Bold(string(st)+":").Text(" "+cvereport.JoinTrees(names, texts, terseBudget)))
	}
	var rest chat.Line
	for _, st := range []kernelcve.Status{kernelcve.Fixed, kernelcve.Unaffected} {
		if len(by[st]) == 0 {
			continue
		}
		if len(rest) > 0 {
			rest = rest.Text(" · ")
		}
		var names []string
		for _, tv := range by[st] {
			names = append(names, tv.Tree)
		}
		rest = rest.Bold(string(st) + ":").Text(" " + strings.Join(names, ", "))
	}
	if len(rest) > 0 {
		out = append(out, rest)
	}
	return out
}

// fixesText lists the fix releases.
func fixesText(rep *cvereport.Report) string {
	if len(rep.Fixed) == 0 {
		return "no release yet"
	}
	return strings.Join(rep.Fixed, ", ")
}

// treeDetail is what a tree must act on (cvereport.TreeText; short:
// without the other branches' fixes), or for a tree with nothing to act
// on its versions (cvereport.TreeVersions); a tree without a verdict
// says why.
func treeDetail(rep *cvereport.Report, tv cvereport.TreeVerdict, short bool) string {
	if tv.Error != "" {
		return "(" + tv.Error + ")"
	}
	t := rep.TreeText(tv.Tree)
	if short {
		t = rep.TreeTextShort(tv.Tree)
	}
	if t != "" {
		return t
	}
	return rep.TreeVersions(tv.Tree)
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
	if r.d.CVE == nil {
		return l
	}
	f, full := r.see(b, ch).Full()
	if !full {
		return l
	}
	t, ok := r.d.Trees.Lookup(tree)
	if !ok {
		return l
	}
	// Only this tree's verdict counts: do not read every tree's packages
	// for every line of !pending.
	reps := r.d.CVE.Reports(cvereport.BugCVEs(f), []config.Tree{t})
	if st, ok := cvereport.Combine(reps, t.Name); ok && st == kernelcve.Affected {
		return l.Text(" ").Bold("[CVE affects " + t.Name + "]")
	}
	return l
}
