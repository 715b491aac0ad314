// SPDX-License-Identifier: GPL-3.0-or-later

package config

import (
	"fmt"
	"net"
	"strings"
)

// Warnings returns what is valid but probably not meant: a tree nobody
// maintains, a package in two trees, IRC port 6697 without TLS, and an HTTP
// listener open to the network. Each names its key and line. check-config
// prints them and the daemon logs them; neither fails on them.
func (c *Config) Warnings() []Problem {
	var idx *docIndex
	if c.Metadata != nil {
		idx = c.Metadata.index
	}
	var out []Problem
	add := func(key, format string, args ...any) {
		out = append(out, Problem{Key: key, Line: idx.lineOf(key), Msg: fmt.Sprintf(format, args...)})
	}
	owner := map[string]int{}
	for t, tr := range c.Trees {
		if len(tr.Bugzilla) == 0 && len(tr.IRC) == 0 && len(tr.Matrix) == 0 {
			add(nth("tree", t, "name"), "tree %q has no maintainers (bugzilla, irc and matrix are all empty): nobody is highlighted or CC'd for its bugs", tr.Name)
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
	if i := c.IRC; i != nil && !i.TLS {
		if _, port, err := net.SplitHostPort(i.Server); err == nil && port == "6697" {
			add("irc.server", "port 6697 is the TLS port but tls is not true: set tls = true (TLS is never turned on by the port alone)")
		}
	}
	if m := c.Matrix; m != nil && !m.Encryption && m.RecoveryKeyFile != "" {
		add("matrix.recovery_key_file", "has no effect without encryption = true: the bot cross-signs its device only with encryption on")
	}
	if l := c.HTTP.Listen; l != "" {
		if host, _, err := net.SplitHostPort(l); err == nil {
			if ip := net.ParseIP(strings.Trim(host, "[]")); host == "" || (ip != nil && ip.IsUnspecified()) {
				add("http.listen", "%q listens on all interfaces: /metrics, /healthz and the webhook are reachable from the network; use 127.0.0.1:PORT unless a firewall or proxy guards it", l)
			}
		}
	}
	return out
}
