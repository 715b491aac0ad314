// SPDX-License-Identifier: GPL-3.0-or-later

package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/spf13/pflag"

	"github.com/ksecbot/ksecbot/config"
	"github.com/ksecbot/ksecbot/cvereport"
	"github.com/ksecbot/ksecbot/kernelcve"
	"github.com/ksecbot/ksecbot/trees"
)

// runCVE is `ksecbot cve --config FILE [--json] CVE-ID...` and `ksecbot
// cve --config FILE --tree NAME [--json]`: for scripts and cron mail,
// what each kernel CVE means for the configured trees, or which
// published CVEs affect one tree. A CVE without a record is "found":
// false (exit 0); an id that is not a CVE id, or an unknown tree, is a
// usage error (exit 64).
func runCVE(args []string, stdout, stderr io.Writer) error {
	fs := pflag.NewFlagSet("cve", pflag.ContinueOnError)
	cfgPath := fs.StringP("config", "c", defaultConfigPath(), "the configuration file ([kernel_cve], [gentoo], [[tree]])")
	asJSON := fs.Bool("json", false, "one JSON object per CVE, one per line")
	tree := fs.String("tree", "", "list the published CVEs affecting this tree's current versions (a [[tree]] name or alias)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: ksecbot cve --config FILE [--json] CVE-ID...\n       ksecbot cve --config FILE --tree NAME [--json]\n\n"+
			"Prints, for each kernel CVE, its title, introduction, fixes and each tree's verdict (affected,\n"+
			"fixed, unaffected, unknown) with the versions to act on; with --tree, the published CVEs that\n"+
			"affect that tree's current versions, grouped by the release that fixes them. From [kernel_cve]\n"+
			"path and [gentoo] repo.\n\n%s", fs.FlagUsages())
	}
	if err := parseFlags(fs, args, stdout, stderr); err != nil {
		return err
	}
	if *tree == "" && fs.NArg() == 0 {
		fs.Usage()
		return fmt.Errorf("%w: cve needs CVE ids or --tree NAME, e.g. ksecbot cve --config FILE CVE-2025-21638", errUsage)
	}
	if *tree != "" && fs.NArg() > 0 {
		return fmt.Errorf("%w: give either CVE ids or --tree, not both", errUsage)
	}
	for _, id := range fs.Args() {
		if !kernelcve.ValidID(id) {
			return fmt.Errorf("%w: %q is not a CVE id (want CVE-YYYY-NNNN)", errUsage, id)
		}
	}
	if *cfgPath == "" {
		return fmt.Errorf("%w: cve needs --config FILE", errUsage)
	}
	cfg, err := config.ParseFile(*cfgPath, netConfigs()...)
	if err != nil {
		return err
	}
	// Without its data the command cannot answer: a configuration
	// problem (exit 78), naming the key to fix.
	ch := cvereport.New(cfg)
	if ch == nil {
		return fmt.Errorf("%w: %s has no [kernel_cve] table: add one with path = \"/var/lib/ksecbot/vulns\", a clone of the kernel CNA's vulns repository (git clone %s /var/lib/ksecbot/vulns)",
			errConfig, *cfgPath, kernelcve.RepositoryURL)
	}
	if err := ch.Store.Check(); err != nil {
		return fmt.Errorf("%w: %s: kernel_cve.path: %w", errConfig, *cfgPath, err)
	}
	if ch.Repo != nil {
		if err := ch.Repo.Check(); err != nil {
			return fmt.Errorf("%w: %s: gentoo.repo: %w", errConfig, *cfgPath, err)
		}
	} else {
		fmt.Fprintln(stderr, "ksecbot: no [gentoo] repo configured: every tree's verdict is unknown; add [gentoo] repo = \"/var/db/repos/gentoo\"")
	}
	if *tree != "" {
		t, ok := trees.New(cfg.Trees).Lookup(*tree)
		if !ok {
			return fmt.Errorf("%w: %s has no [[tree]] named %q; the trees are: %s", errUsage, *cfgPath, *tree, strings.Join(trees.Names(cfg.Trees), ", "))
		}
		return treeExposure(ch, t, *asJSON, stdout, stderr)
	}
	enc := json.NewEncoder(stdout)
	for i, id := range fs.Args() {
		r := ch.Report(id, cfg.Trees)
		if r.Err != nil {
			fmt.Fprintf(stderr, "ksecbot: %v\n", r.Err)
		}
		if *asJSON {
			if err := enc.Encode(r); err != nil {
				return err
			}
			continue
		}
		if i > 0 {
			fmt.Fprintln(stdout)
		}
		writeReport(stdout, &r, ch.Store.Root())
	}
	return nil
}

// writeReport prints one report for people (cron mail): the CVE, then
// per tree one line with its verdict and the versions to act on (or its
// versions), then the notes on single versions. clone is the vulns
// clone's path.
func writeReport(w io.Writer, r *cvereport.Report, clone string) {
	if !r.Found {
		fmt.Fprintf(w, "%s: no record in the vulns clone %s (not a kernel CVE, or published since the clone's last pull: git -C %s pull)\n", r.CVE, clone, clone)
		return
	}
	if r.Err != nil {
		// runCVE printed the error, which says what to do
		fmt.Fprintf(w, "%s: the record cannot be read (above: what to do); every verdict unknown\n", r.CVE)
		return
	}
	state := ""
	if r.Rejected {
		state = " [REJECTED]"
	}
	fmt.Fprintf(w, "%s%s: %s\n", r.CVE, state, r.Title)
	fmt.Fprintf(w, "  introduced: %s\n", orNone(r.Introduced))
	fmt.Fprintf(w, "  fixed in:   %s\n", orNone(r.Fixed))
	for _, tv := range r.Rollup {
		detail := r.TreeText(tv.Tree)
		if tv.Error != "" {
			detail = tv.Error
		}
		if detail == "" {
			detail = r.TreeVersions(tv.Tree)
		}
		fmt.Fprintf(w, "  %-20s %-10s %s\n", tv.Tree, tv.Status, detail)
		for _, it := range r.Trees {
			if it.Tree == tv.Tree && it.Note != "" {
				fmt.Fprintf(w, "  %-20s %-10s note on %s: %s\n", "", "", strings.TrimSpace(strings.TrimPrefix(it.Package, "sys-kernel/")+" "+versionPrefix(it)), it.Note)
			}
		}
	}
}

// treeExposure prints which published CVEs affect one tree.
func treeExposure(ch *cvereport.Checker, t config.Tree, asJSON bool, stdout, stderr io.Writer) error {
	one := []config.Tree{t}
	reps, records, skipped, err := ch.PublishedReports(one, func(r *cvereport.Report) bool {
		for _, it := range r.Trees {
			if it.Status == string(kernelcve.Affected) || (it.Status == string(kernelcve.Unknown) && it.Error == "") {
				return true
			}
		}
		return false
	})
	switch {
	case errors.Is(err, kernelcve.ErrBusy):
		return fmt.Errorf("kernel_cve.path: vulns clone %s: %w: try again when it is done; if no git runs, remove %s (a crashed git left it)",
			ch.Store.Root(), err, filepath.Join(ch.Store.Root(), ".git", "index.lock"))
	case err != nil:
		return fmt.Errorf("%w: kernel_cve.path: %w", errConfig, err)
	}
	if skipped > 0 {
		fmt.Fprintf(stderr, "ksecbot: %d published records could not be read (ksecbot cve ID says why)\n", skipped)
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		for _, r := range reps {
			if err := enc.Encode(r); err != nil {
				return err
			}
		}
		// Say why where no verdict could be made.
		for _, it := range ch.CurrentItems(t) {
			if it.Error != "" {
				fmt.Fprintf(stderr, "ksecbot: %s\n", it.Error)
			}
		}
		return nil
	}
	writeExposure(stdout, t, cvereport.ExposureOf(t.Name, ch.CurrentItems(t), reps), reps, records)
	return nil
}

// writeExposure prints a tree's exposure: a summary line, then per
// version its CVEs grouped by the release that fixes them.
func writeExposure(w io.Writer, t config.Tree, ex cvereport.Exposure, reps []cvereport.Report, records int) {
	fmt.Fprintf(w, "%s: %d published kernel CVEs affect its current versions (%d published records judged)\n", t.Name, ex.Count(), records)
	titles := map[string]string{}
	fixes := map[string]map[string]string{} // version key -> CVE -> fix text
	for _, r := range reps {
		titles[r.CVE] = r.Title
		for _, it := range r.Trees {
			k := it.Package + " " + it.Ebuild
			if fixes[k] == nil {
				fixes[k] = map[string]string{}
			}
			fixes[k][r.CVE] = strings.TrimPrefix(cvereport.VersionText(it), versionPrefix(it)+": ")
		}
	}
	for _, v := range ex.Versions {
		stable := "testing"
		if v.Stable {
			stable = "stable"
		}
		fmt.Fprintf(w, "\n  %s (%s): %s\n", v.Name(), stable, v.Text(5))
		k := v.Package + " " + v.Ebuild
		for _, id := range append(append([]string{}, v.Affected...), v.Unknown...) {
			fmt.Fprintf(w, "    %-16s %s — %s\n", id, fixes[k][id], titles[id])
		}
	}
	for _, e := range ex.Errors {
		fmt.Fprintf(w, "\n  no verdict: %s\n", e)
	}
}

// versionPrefix is the version as VersionText writes it ("~6.1.112").
func versionPrefix(it cvereport.Item) string {
	return strings.TrimSuffix(cvereport.VersionText(it), cvereport.VerdictText(it))
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "-"
	}
	return strings.Join(s, ", ")
}
