// SPDX-License-Identifier: GPL-3.0-or-later

package config

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// ExitConfig is the exit status of a configuration or secret problem
// (EX_CONFIG in sysexits.h); the service files do not restart on it.
const ExitConfig = 78

// CheckOptions are what the daemon's command line changes about the
// checks of its configuration at start; check-config takes the same
// flags, so that it checks the start that the same command line makes.
type CheckOptions struct {
	// Requested are the networks asked for on the command line (the
	// console with --console), by network name; with one of them a
	// file without any network table can run.
	Requested map[string]bool
	// AllowInsecureSecrets makes a secret file its group or others can
	// read a warning instead of a problem (--allow-insecure-secrets).
	AllowInsecureSecrets bool
	// FileOnly checks the file alone, as written for another host: no
	// secret is read and no file or folder it names is looked at
	// (check-config --no-secrets).
	FileOnly bool
}

// Validate checks the configuration file at path as the daemon does
// before it starts, and finds every problem at once: syntax, keys, types
// and values (Parse); then, unless o.FileOnly, the files it names (a
// secret file missing, unreadable, empty or readable by others, a TLS or
// avatar file missing, a folder where the database or the Matrix state
// cannot be created) and the secrets from the environment; and whether
// any network would run. Each problem has its key and, where the file
// has one, its line; secret values never appear.
//
// It returns the configuration, the warnings (valid but probably not
// meant; see Warnings), and the problems as a *Problems, or nil. With
// problems the configuration is what could be decoded, for further
// checks of keys that have no problem (Bad), or nil when the file could
// not be read or decoded.
func Validate(path string, o CheckOptions, nets ...Network) (*Config, []Problem, error) {
	ps := &Problems{Path: path}
	data, err := readFile(path)
	if err != nil {
		ps.List = append(ps.List, Problem{Msg: err.Error()})
		return nil, nil, ps
	}
	c, bad := parse(data, path, nets, ps)
	if c == nil {
		return nil, nil, ps.errOrNil()
	}
	c.bad = bad
	dir := filepath.Dir(path)
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	c.resolvePaths(dir)
	ws := c.Warnings()
	if !o.FileOnly {
		ps.List = append(ps.List, c.fileProblems()...)
		if err := c.loadSecrets(func(r secretRef) bool { return !c.Bad(r.fileKey) && !c.Bad(r.envKey) }); err != nil {
			ps.List = append(ps.List, err.(*Problems).List...)
		}
		for _, w := range c.insecureFiles() {
			if o.AllowInsecureSecrets {
				w.Msg += " (allowed by --allow-insecure-secrets)"
				ws = append(ws, w)
				continue
			}
			w.Msg += " (or start with --allow-insecure-secrets)"
			ps.List = append(ps.List, w)
		}
		ws = append(ws, c.DataWarnings()...)
	}
	sort.SliceStable(ps.List, func(i, j int) bool { return ps.List[i].Line < ps.List[j].Line })
	sort.SliceStable(ws, func(i, j int) bool { return ws[i].Line < ws[j].Line })
	if tables := Tables(c.Networks, "nor"); tables != "" && !c.anyRuns(o.Requested) {
		what := "neither " + tables + " is"
		if !strings.Contains(tables, " nor ") {
			what = tables + " is not"
		}
		ps.List = append(ps.List, Problem{Msg: what + " configured, so no chat network would run: add one, or use --console (the terminal as a channel)"})
	}
	if len(ps.List) > 0 {
		return c, ws, ps
	}
	c.bad = nil
	return c, ws, nil
}

// Bad reports whether key (or the table or entry holding it) had a
// problem in Validate.
func (c *Config) Bad(key string) bool {
	for k := key; k != ""; {
		if c.bad[k] {
			return true
		}
		cut := strings.LastIndexAny(k, ".[")
		if cut < 0 {
			break
		}
		k = k[:cut]
	}
	return false
}

// Line returns the line of key in the file, or of the closest table
// holding it that the file sets; 0 when there is none.
func (c *Config) Line(key string) int {
	if c.Metadata == nil {
		return 0
	}
	return c.Metadata.index.lineOf(key)
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

// anyRuns reports whether a network would run: one whose table the file
// has (unless it runs only on request), or one requested.
func (c *Config) anyRuns(requested map[string]bool) bool {
	for _, n := range c.Networks {
		if n.OnRequest && requested[n.Name] || !n.OnRequest && c.Sections[n.Name] != nil {
			return true
		}
	}
	return false
}
