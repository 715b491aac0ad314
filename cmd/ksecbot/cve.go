// SPDX-License-Identifier: GPL-3.0-or-later

package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/pflag"

	"github.com/ksecbot/ksecbot/config"
	"github.com/ksecbot/ksecbot/cvereport"
	"github.com/ksecbot/ksecbot/kernelcve"
)

// runCVE is `ksecbot cve --config FILE [--json] CVE-ID...`: for scripts
// and cron mail, what each kernel CVE means for the configured trees. A
// CVE without a record is "found": false (exit 0); an id that is not a
// CVE id is a usage error (exit 64).
func runCVE(args []string, stdout, stderr io.Writer) error {
	fs := pflag.NewFlagSet("cve", pflag.ContinueOnError)
	cfgPath := fs.StringP("config", "c", defaultConfigPath(), "the configuration file ([kernel_cve], [gentoo], [[tree]])")
	asJSON := fs.Bool("json", false, "one JSON object per CVE, one per line")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: ksecbot cve --config FILE [--json] CVE-ID...\n\nPrints, for each kernel CVE, its title, introduction, fixes and every tree version's verdict\n(affected, fixed, unaffected, unknown), from [kernel_cve] path and [gentoo] repo.\n\n%s", fs.FlagUsages())
	}
	if err := parseFlags(fs, args, stdout, stderr); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return fmt.Errorf("%w: cve needs at least one CVE id, e.g. ksecbot cve --config FILE CVE-2025-21638", errUsage)
	}
	for _, id := range fs.Args() {
		if !kernelcve.ValidID(id) {
			return fmt.Errorf("%w: %q is not a CVE id (want CVE-YYYY-NNNN)", errUsage, id)
		}
	}
	if *cfgPath == "" {
		return fmt.Errorf("%w: cve needs --config FILE", errUsage)
	}
	cfg, err := config.ParseFile(*cfgPath)
	if err != nil {
		return err
	}
	// Without its data the command cannot answer: a configuration
	// problem (exit 78), naming the key to fix.
	ch := cvereport.New(cfg)
	if ch == nil {
		return fmt.Errorf("%w: %s has no [kernel_cve] table: add path = \"/var/lib/ksecbot/vulns\" (a clone of the kernel CNA's vulns repository)", errConfig, *cfgPath)
	}
	if err := ch.Store.Check(); err != nil {
		return fmt.Errorf("%w: %s: kernel_cve.path: %w", errConfig, *cfgPath, err)
	}
	if ch.Repo != nil {
		if err := ch.Repo.Check(); err != nil {
			return fmt.Errorf("%w: %s: gentoo.repo: %w", errConfig, *cfgPath, err)
		}
	} else {
		fmt.Fprintln(stderr, "ksecbot: no [gentoo] repo configured: tree versions unknown")
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
		writeReport(stdout, &r)
	}
	return nil
}

// writeReport prints one report for people (cron mail).
func writeReport(w io.Writer, r *cvereport.Report) {
	if !r.Found {
		fmt.Fprintf(w, "%s: no record in the kernel CNA's repository\n", r.CVE)
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
		var vs []string
		for _, it := range r.Trees {
			if it.Tree != tv.Tree {
				continue
			}
			s := it.Version
			if !it.Stable {
				s = "~" + s
			}
			s += " " + it.Status
			if it.Fix != "" && it.Status != string(kernelcve.Unaffected) {
				s += " (fix " + it.Fix + ")"
			}
			vs = append(vs, s)
		}
		fmt.Fprintf(w, "  %-20s %-10s %s\n", tv.Tree, tv.Status, strings.Join(vs, ", "))
		for _, s := range tv.Stabilise {
			fmt.Fprintf(w, "  %-20s %-10s %s\n", "", "", s)
		}
	}
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "-"
	}
	return strings.Join(s, ", ")
}
