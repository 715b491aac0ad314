// SPDX-License-Identifier: GPL-3.0-or-later

package config

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// ExitConfig is the exit status of a configuration or secret problem
// (EX_CONFIG in sysexits.h); the service files do not restart on it.
const ExitConfig = 78

// Check is what "ksecbot check-config FILE" does. It parses and validates
// the file at path without reading any secret, so a config written for
// another machine can be checked anywhere; with readSecrets it also reads
// the secrets as the daemon would (Load), so a missing secret file is a
// problem. Warnings (e.g. secret files readable by others) never make the
// check fail.
//
// nets are the chat networks to parse the file for (see Parse).
func Check(path string, readSecrets bool, nets ...Network) (c *Config, warnings []string, err error) {
	c, err = ParseFile(path, nets...)
	if err != nil {
		return nil, nil, err
	}
	ws := c.Warnings()
	for _, w := range SecretFileWarnings(c) {
		key, msg, _ := strings.Cut(w, ": ")
		ws = append(ws, Problem{Key: key, Line: c.Metadata.index.lineOf(key), Msg: msg + " (the daemon refuses to start with it unless --allow-insecure-secrets)"})
	}
	if tables := Tables(c.Networks, "nor"); tables != "" && !c.anyRuns() {
		what := "neither " + tables + " is"
		if !strings.Contains(tables, " nor ") {
			what = tables + " is not"
		}
		ws = append(ws, Problem{Msg: what + " configured: only --console can talk to this bot"})
	}
	if readSecrets {
		// Checked as on the daemon's machine: the data directories exist.
		ws = append(ws, c.DataWarnings()...)
	}
	// Each as "path:line: key: warning: msg", like a problem, by line.
	sort.SliceStable(ws, func(i, j int) bool { return ws[i].Line < ws[j].Line })
	for _, w := range ws {
		w.Msg = "warning: " + w.Msg
		warnings = append(warnings, w.format(path))
	}
	if readSecrets {
		if err := c.LoadSecrets(); err != nil {
			return nil, warnings, err
		}
	}
	return c, warnings, nil
}

// RunCheck runs Check and prints its result to w: every problem on its own
// line ("path:line: key: msg"), then the warnings ("path:line: key:
// warning: msg"), then "path: ok" when there is no problem. It returns
// the process exit status: 0 when the file is good, ExitConfig otherwise.
func RunCheck(w io.Writer, path string, readSecrets bool, nets ...Network) int {
	_, warnings, err := Check(path, readSecrets, nets...)
	var ps *Problems
	switch {
	case errors.As(err, &ps):
		fmt.Fprintln(w, ps.Error())
		fmt.Fprintf(w, "%s: %d problem(s)\n", path, len(ps.List))
	case err != nil:
		fmt.Fprintf(w, "%s: %v\n", path, err)
	}
	for _, warn := range warnings {
		fmt.Fprintln(w, warn)
	}
	if err != nil {
		return ExitConfig
	}
	fmt.Fprintf(w, "%s: ok\n", path)
	return 0
}

// DataWarnings reports [kernel_cve] path and [gentoo] repo directories
// that do not look like what they should be: the daemon then runs with
// "unknown" verdicts, so these are warnings, not problems.
func (c *Config) DataWarnings() []Problem {
	var idx *docIndex
	if c.Metadata != nil {
		idx = c.Metadata.index
	}
	var out []Problem
	missing := func(key, dir, sub, fix string) {
		if st, err := os.Stat(filepath.Join(dir, sub)); err != nil || !st.IsDir() {
			out = append(out, Problem{Key: key, Line: idx.lineOf(key), Msg: fmt.Sprintf("%s has no %s/: %s", dir, sub, fix)})
		}
	}
	if k := c.KernelCVE; k != nil && k.Path != "" {
		missing("kernel_cve.path", k.Path, "cve/published", "clone https://git.kernel.org/pub/scm/linux/security/vulns.git there; until then every CVE verdict is unknown")
	}
	if g := c.Gentoo; g != nil && g.Repo != "" {
		missing("gentoo.repo", g.Repo, "sys-kernel", "point it at a Gentoo repository such as /var/db/repos/gentoo; until then tree versions are unknown")
	}
	return out
}

// anyRuns reports whether the file has the table of a network that runs
// when its table is there (not OnRequest).
func (c *Config) anyRuns() bool {
	for _, n := range c.Networks {
		if !n.OnRequest && c.Sections[n.Name] != nil {
			return true
		}
	}
	return false
}
