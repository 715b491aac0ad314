// SPDX-License-Identifier: GPL-3.0-or-later

package commands

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/config"
	"github.com/ksecbot/ksecbot/cvereport"
	"github.com/ksecbot/ksecbot/store"
)

// ExposureStore is where !exposure reads what the kernel CVE watch keeps:
// the versions each published record affects. *store.Store implements it.
type ExposureStore interface {
	CVEExposureOf(ctx context.Context, tree string) ([]store.CVEExposure, error)
	CVEPublished(ctx context.Context) (int, error)
}

// CVEWatchState says how far the kernel CVE watch is, for !exposure's
// answer before it has data. *bot.CVEStatus implements it.
type CVEWatchState interface {
	// FirstScan returns when the scan under way began if it is the
	// first of a fresh database.
	FirstScan() (started time.Time, ok bool)
	// FailingSince returns when the scans began failing; zero while
	// they work.
	FailingSince() time.Time
}

// exposureCommand is the !exposure entry of the command table.
func (r *Router) exposureCommand() Command {
	return Command{Name: "exposure", Usage: "exposure [tree]",
		Help: "the published kernel CVEs that affect a tree's current versions, per version grouped by the release that fixes them, with the stabilise hint; without a tree, how many affect each tree.",
		More: "From the kernel CVE watch ([kernel_cve] scan_interval); on Matrix a table. ksecbot cve --tree NAME prints the same with every CVE.",
		Run:  r.cmdExposure}
}

// exposureIDs is how many CVE ids a line names before "and N more".
const (
	exposureIDsTerse = 3
	exposureIDsRich  = 8
)

// cmdExposure implements !exposure [tree].
func (r *Router) cmdExposure(ctx context.Context, req *Request) []chat.Line {
	if len(req.Args) > 1 {
		return []chat.Line{r.argError("exposure", "give at most one tree")}
	}
	if r.d.CVE == nil {
		return []chat.Line{chat.Line{}.Text("Kernel CVE data is not configured here ([kernel_cve] path in the configuration).")}
	}
	if r.d.Exposure == nil {
		return []chat.Line{chat.Line{}.Text("The kernel CVE watch is off ([kernel_cve] scan_interval = \"0\"): !exposure answers from it. `ksecbot cve --tree NAME` answers on the command line.")}
	}
	if l, waiting := r.firstScan(); waiting {
		return []chat.Line{l}
	}
	records, err := r.d.Exposure.CVEPublished(ctx)
	if err != nil {
		return []chat.Line{r.exposureError(err)}
	}
	if records == 0 {
		return []chat.Line{r.noScanYet()}
	}
	terse := req.In.Channel.Terse
	if len(req.Args) == 0 {
		return r.exposureAll(ctx, records, terse)
	}
	t, ok := r.d.Trees.Lookup(req.Args[0])
	if !ok {
		return []chat.Line{r.unknownTree(req.Args[0])}
	}
	ex, err := r.exposure(ctx, t)
	if err != nil {
		return []chat.Line{r.exposureError(err)}
	}
	head := chat.Line{}.Bold(t.Name).Text(fmt.Sprintf(": %s affect its current versions (of %d published records)", plural(ex.Count(), "published kernel CVE"), records))
	lines := []chat.Line{head}
	max := exposureIDsRich
	if terse {
		max = exposureIDsTerse
	} else if len(ex.Versions) > 0 {
		lines = append(lines, chat.Line{}.Text("version").Cell().Text("CVEs").Cell().Text("what fixes them"))
	}
	for i := range ex.Versions {
		v := &ex.Versions[i]
		if terse {
			lines = append(lines, chat.Line{}.Text(v.Name()+": "+v.Text(max)))
			continue
		}
		lines = append(lines, chat.Line{}.Text(v.Name()).Cell().Text(fmt.Sprint(len(v.Affected))).Cell().Text(v.Text(max)))
	}
	for _, e := range ex.Errors {
		lines = append(lines, chat.Line{}.Text("no verdict: "+e))
	}
	return lines
}

// firstScan is the answer while the watch takes its first scan of a
// fresh database (a baseline of the full clone takes seconds): until it
// ends, the records stored are only part of them.
func (r *Router) firstScan() (chat.Line, bool) {
	if r.d.CVEWatch == nil {
		return nil, false
	}
	started, ok := r.d.CVEWatch.FirstScan()
	if !ok {
		return nil, false
	}
	ago := max(r.now().Sub(started), 0).Round(time.Second) / time.Second
	return chat.Line{}.Text(fmt.Sprintf("The first scan of the kernel CVE data is under way (started %d s ago); ask again when it is done, in a few seconds.", ago)), true
}

// noScanYet is the answer when the watch has no record: its first scan
// has not begun, or its scans fail (the operator's /healthz says why).
func (r *Router) noScanYet() chat.Line {
	if r.d.CVEWatch != nil {
		if since := r.d.CVEWatch.FailingSince(); !since.IsZero() {
			return chat.Line{}.Text("The kernel CVE watch cannot scan the kernel CNA's vulns clone (failing since " + since.UTC().Format("2006-01-02 15:04 MST") +
				"), so it has no data yet; the operator sees why in /healthz and the log.")
		}
	}
	return chat.Line{}.Text("The kernel CVE watch has not scanned the kernel CNA's vulns clone yet; ask again in a minute.")
}

// exposure is a tree's exposure from the watch's rows.
func (r *Router) exposure(ctx context.Context, t config.Tree) (cvereport.Exposure, error) {
	rows, err := r.d.Exposure.CVEExposureOf(ctx, t.Name)
	if err != nil {
		return cvereport.Exposure{}, err
	}
	return cvereport.ExposureFromRows(t.Name, r.d.CVE.CurrentItems(t), rows), nil
}

// exposureAll is !exposure without a tree: how many CVEs affect each
// tree, and its most exposed version.
func (r *Router) exposureAll(ctx context.Context, records int, terse bool) []chat.Line {
	head := chat.Line{}.Text(fmt.Sprintf("Published kernel CVEs affecting the trees' current versions (of %d records); %sexposure <tree> for the versions:", records, r.prefix))
	var names, texts []string
	var rows []chat.Line
	for _, t := range r.cfg.Trees {
		ex, err := r.exposure(ctx, t)
		if err != nil {
			return []chat.Line{r.exposureError(err)}
		}
		worst := ""
		most := 0
		for i := range ex.Versions {
			if n := len(ex.Versions[i].Affected); n > most {
				most, worst = n, ex.Versions[i].Name()
			}
		}
		count, version := fmt.Sprint(ex.Count()), ""
		switch {
		case worst != "":
			version = fmt.Sprintf("%s: %d", strings.TrimPrefix(worst, shortName(t)+" "), most)
		case len(ex.Errors) > 0 && len(ex.Versions) == 0:
			count, version = "no verdict", ex.Errors[0]
		}
		text := count
		if version != "" && worst != "" {
			text += " (" + version + ")"
		}
		names, texts = append(names, t.Name), append(texts, text)
		rows = append(rows, chat.Line{}.Text(t.Name).Cell().Text(count).Cell().Text(version))
	}
	if terse {
		return []chat.Line{head, chat.Line{}.Text(cvereport.JoinTrees(names, texts, terseBudget))}
	}
	return append([]chat.Line{head, chat.Line{}.Text("tree").Cell().Text("CVEs").Cell().Text("most exposed version")}, rows...)
}

// exposureError is the answer when the store cannot be read; the error
// goes to the log.
func (r *Router) exposureError(err error) chat.Line {
	r.log.Error("!exposure: cannot read the kernel CVE watch's data", "err", err)
	return chat.Line{}.Text("Sorry, I could not read the kernel CVE data; try again in a minute.")
}

// shortName is a tree's single package's name, as Exposure names versions.
func shortName(t config.Tree) string {
	if len(t.Packages) == 1 {
		_, name, _ := strings.Cut(t.Packages[0], "/")
		return name
	}
	return ""
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
