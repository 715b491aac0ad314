// SPDX-License-Identifier: GPL-3.0-or-later

package cvereport

import (
	"strings"

	"github.com/ksecbot/ksecbot/announce"
	"github.com/ksecbot/ksecbot/bugzilla"
	"github.com/ksecbot/ksecbot/config"
	"github.com/ksecbot/ksecbot/kernelcve"
)

// MaxBugCVEs is the most CVEs of one bug that are looked up.
const MaxBugCVEs = 3

// BugCVEs are the CVE ids a bug names in its alias, summary and see also,
// at most MaxBugCVEs.
func BugCVEs(b *bugzilla.Bug) []string {
	texts := append(append([]string{}, b.Alias...), b.Summary)
	texts = append(texts, b.SeeAlso...)
	return IDs(MaxBugCVEs, texts...)
}

// Annotator adds kernel CVE verdicts to announcements: it implements
// announce.CVEAnnotator. Safe for concurrent use.
type Annotator struct {
	Checker   *Checker
	Trees     []config.Tree
	Highlight string // config.HighlightAffected (default) or config.HighlightAll
}

// AnnotateBug looks up the CVEs the bug names. For the announcement it
// gives, per CVE with a record, the fixes on the branches the trees use
// (a rejected CVE says so), each tree's verdict over all its CVEs, and,
// with highlight = "affected", the trees that are named but not
// highlighted because no CVE affects them (fixed or unaffected).
func (a *Annotator) AnnotateBug(b *bugzilla.Bug) (announce.CVENote, bool) {
	if a == nil || a.Checker == nil || b == nil {
		return announce.CVENote{}, false
	}
	var reps []Report
	var text []string
	for _, r := range a.Checker.Reports(BugCVEs(b), a.Trees) {
		if !r.Found {
			continue
		}
		id := r.CVE
		reps = append(reps, r)
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
	note := announce.CVENote{Text: strings.Join(text, "; "), Verdicts: map[string]string{}, Quiet: map[string]bool{}}
	for _, t := range a.Trees {
		st, ok := Combine(reps, t.Name)
		if !ok {
			continue
		}
		v := string(st)
		for i := range reps {
			if tv, ok := reps[i].Verdict(t.Name); ok && tv.Status == kernelcve.Affected {
				for _, s := range tv.Stabilise {
					v += "; " + s
				}
			}
		}
		name := strings.ToLower(t.Name)
		note.Verdicts[name] = v
		if a.Highlight != config.HighlightAll && (st == kernelcve.Fixed || st == kernelcve.Unaffected) {
			note.Quiet[name] = true
		}
	}
	return note, true
}
