// SPDX-License-Identifier: GPL-3.0-or-later

package cvereport

import (
	"fmt"
	"strings"

	"github.com/ksecbot/ksecbot/announce"
	"github.com/ksecbot/ksecbot/config"
	"github.com/ksecbot/ksecbot/kernelcve"
	"github.com/ksecbot/ksecbot/policy"
)

// maxBugIDs bounds the CVE ids taken from one bug: far more than any
// real bug names, so every CVE of a bug counts, while a hostile summary
// cannot make one announcement read thousands of records.
const maxBugIDs = 200

// noteCVEs is how many of a bug's CVEs an announcement describes one by
// one; the others are counted ("and 3 more") but judged all the same.
const noteCVEs = 3

// BugCVEs are the CVE ids a bug shown in full names in its alias, summary
// and see also, every one of them (up to maxBugIDs): a bug's CVEs are
// among its details, so they are read only from a policy.Full.
func BugCVEs(f policy.Full) []string {
	b := f.Bug()
	if b == nil {
		return nil
	}
	texts := append(append([]string{}, b.Alias...), b.Summary)
	texts = append(texts, b.SeeAlso...)
	return IDs(maxBugIDs, texts...)
}

// Annotator adds kernel CVE verdicts to announcements: it implements
// announce.CVEAnnotator. Safe for concurrent use.
type Annotator struct {
	Checker   *Checker
	Trees     []config.Tree
	Highlight string // config.HighlightAffected (default) or config.HighlightAll
}

// AnnotateBug looks up every CVE the bug names. For the announcement it
// gives, for the first few CVEs with a record, the fixes on the branches
// the trees use (a rejected CVE says so) and "and N more" for the rest;
// each tree's verdict over all of them, with the versions to act on;
// and, with highlight = "affected", the trees that are named but not
// highlighted because no CVE affects them (fixed or unaffected).
func (a *Annotator) AnnotateBug(f policy.Full) (announce.CVENote, bool) {
	if a == nil || a.Checker == nil || f.Bug() == nil {
		return announce.CVENote{}, false
	}
	var reps []Report
	var text []string
	for _, r := range a.Checker.Reports(BugCVEs(f), a.Trees) {
		if !r.Found {
			continue
		}
		reps = append(reps, r)
		if len(reps) > noteCVEs {
			continue
		}
		id := r.CVE
		switch fixes := r.FixesFor(); {
		case r.Rejected:
			text = append(text, id+" was rejected by the kernel CNA")
		case r.Err != nil:
			text = append(text, id+" (record unreadable)")
		case len(fixes) == 0:
			text = append(text, id+" has no fix yet")
		default:
			text = append(text, id+" fixed in "+strings.Join(fixes, ", "))
		}
	}
	if len(reps) == 0 {
		return announce.CVENote{}, false
	}
	if more := len(reps) - len(text); more > 0 {
		text = append(text, "and "+plural(more, "more kernel CVE"))
	}
	note := announce.CVENote{Text: strings.Join(text, "; "), Verdicts: map[string]string{}, Quiet: map[string]bool{}}
	for _, t := range a.Trees {
		st, ok := Combine(reps, t.Name)
		if !ok {
			continue
		}
		name := strings.ToLower(t.Name)
		note.Verdicts[name] = treeVerdictText(reps, t.Name, st)
		if a.Highlight != config.HighlightAll && (st == kernelcve.Fixed || st == kernelcve.Unaffected) {
			note.Quiet[name] = true
		}
	}
	return note, true
}

// treeVerdictText is a tree's verdict over a bug's CVEs: "affected
// 5.10.250: fix 5.10.251; newest stable ..." for one CVE affecting it,
// "affected by CVE-A, CVE-B (2 of 4)" for several.
func treeVerdictText(reps []Report, tree string, st kernelcve.Status) string {
	var hits []int
	for i := range reps {
		if tv, ok := reps[i].Verdict(tree); ok && !reps[i].Rejected && tv.Status == st {
			hits = append(hits, i)
		}
	}
	if st != kernelcve.Affected && st != kernelcve.Unknown || len(hits) == 0 {
		return string(st)
	}
	if len(hits) == 1 {
		r := &reps[hits[0]]
		out := string(st)
		if len(reps) > 1 {
			out += " by " + r.CVE
		}
		if t := r.TreeText(tree); t != "" {
			if len(reps) > 1 {
				out += ","
			}
			out += " " + t
		}
		return out
	}
	var ids []string
	for _, i := range hits {
		ids = append(ids, reps[i].CVE)
	}
	if len(ids) > noteCVEs {
		ids = append(ids[:noteCVEs], fmt.Sprintf("and %d more", len(hits)-noteCVEs))
	}
	return fmt.Sprintf("%s by %s (%d of %d)", st, strings.Join(ids, ", "), len(hits), len(reps))
}
