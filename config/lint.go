// SPDX-License-Identifier: GPL-3.0-or-later

package config

import (
	"fmt"
	"net"
	"strings"
)

// Warnings returns what is valid but probably not meant: a tree nobody
// maintains, a package in two trees, an HTTP listener open to the network,
// a value larger than ksecbot uses (pending_lines), and what the networks'
// sections warn about (Linter). Each names its key
// and line. check-config prints them and the daemon logs them; neither
// fails on them.
func (c *Config) Warnings() []Problem {
	var idx *docIndex
	if c.Metadata != nil {
		idx = c.Metadata.index
	}
	var out []Problem
	add := func(key, format string, args ...any) {
		out = append(out, Problem{Key: key, Line: idx.lineOf(key), Msg: fmt.Sprintf(format, args...)})
	}
	keys := []string{"bugzilla"}
	for _, n := range c.Networks {
		if n.Tree != nil {
			keys = append(keys, n.Tree.Key)
		}
	}
	empty := "bugzilla is empty"
	if len(keys) > 1 {
		empty = join(keys, "and") + " are all empty"
	}
	owner := map[string]int{}
	for t, tr := range c.Trees {
		handles := 0
		for _, hs := range tr.Handles {
			handles += len(hs)
		}
		if len(tr.Bugzilla) == 0 && handles == 0 {
			add(nth("tree", t, "name"), "tree %q has no maintainers (%s): nobody is highlighted or CC'd for its bugs", tr.Name, empty)
		}
		for k, p := range tr.Packages {
			fold := strings.ToLower(p)
			if prev, ok := owner[fold]; ok && prev != t {
				add(fmt.Sprintf("tree[%d].packages[%d]", t+1, k+1), "package %s is also in tree %q (tree[%d]): a bug naming it highlights both", p, c.Trees[prev].Name, prev+1)
				continue
			}
			owner[fold] = t
		}
	}
	if n := c.Commands.PendingLines; n > MaxPendingLines {
		add("commands.pending_lines", "%d is more than !pending lists: it shows at most %d lines, then \"and N more\" with a link", n, MaxPendingLines)
	}
	v := &validator{idx: idx}
	for _, n := range c.Networks {
		if l, ok := c.Sections[n.Name].(Linter); ok {
			l.Lint(&Checker{v: v, table: n.Table})
		}
	}
	out = append(out, v.problems...)
	if l := c.HTTP.Listen; l != "" {
		if host, _, err := net.SplitHostPort(l); err == nil {
			if ip := net.ParseIP(strings.Trim(host, "[]")); host == "" || (ip != nil && ip.IsUnspecified()) {
				add("http.listen", "%q listens on all interfaces: /metrics, /healthz and the webhook are reachable from the network; use 127.0.0.1:PORT unless a firewall or proxy guards it", l)
			}
		}
	}
	return out
}
