// SPDX-License-Identifier: GPL-3.0-or-later

package config

import (
	"fmt"
	"time"
)

// Defaults is what a section's Defaults gets: which keys the file sets,
// and the shared settings a default may follow.
type Defaults struct {
	table string
	idx   *docIndex
	// StorePath is [store] path, for files a network keeps beside the
	// store.
	StorePath string
}

// Has reports whether the file sets key, a key of the section's table
// ("flood.burst" in [irc] is irc.flood.burst).
func (d *Defaults) Has(key string) bool { return d.idx.has(d.table + "." + key) }

// Duration sets *p to def when the file does not set key.
func (d *Defaults) Duration(key string, p *Duration, def time.Duration) {
	if !d.Has(key) {
		p.Duration = def
	}
}

// Checker is what a section's Check (and Lint) reports through. Keys are
// those of the section's table ("channel[2].name"), named in problems
// with the table ("irc.channel[2].name") and the line that sets them.
type Checker struct {
	v     *validator
	table string
}

// key returns the full key of a section key; "" is the table itself.
func (ch *Checker) key(k string) string {
	if k == "" {
		return ch.table
	}
	return ch.table + "." + k
}

// Add reports a problem (or, from Lint, a warning) with key.
func (ch *Checker) Add(key, format string, args ...any) {
	ch.v.add(ch.key(key), format, args...)
}

// Positive reports a duration that is not longer than 0.
func (ch *Checker) Positive(key string, d Duration) { ch.v.positive(ch.key(key), d) }

// URL reports a value that is not an absolute http(s) URL without query.
func (ch *Checker) URL(key, s string) { ch.v.httpURL(ch.key(key), s) }

// HostPort reports a value that is not host:port (an empty host is
// allowed with emptyHost).
func (ch *Checker) HostPort(key, s string, emptyHost bool) { ch.v.hostPort(ch.key(key), s, emptyHost) }

// SecretSource checks a secret's <base>_file / <base>_env pair: not both,
// and a valid variable name.
func (ch *Checker) SecretSource(base, file, env string) { ch.v.secretSource(ch.key(base), file, env) }

// Nth names the i-th (0-based) entry of an array of tables, counted from
// 1 as a reader counts them: Nth("channel", 1, "name") is
// "channel[2].name".
func Nth(array string, i int, key string) string { return nth(array, i, key) }

// networks runs every section's Check, and the networks' checks of
// their [[tree]] and [[user]] keys.
func (v *validator) networks(c *Config) {
	for _, n := range c.Networks {
		if s := c.Sections[n.Name]; s != nil {
			s.Check(&Checker{v: v, table: n.Table})
		}
	}
	for t, tr := range c.Trees {
		for _, n := range c.Networks {
			if n.Tree == nil {
				continue
			}
			for k, h := range tr.Handles[n.Name] {
				key := fmt.Sprintf("tree[%d].%s[%d]", t+1, n.Tree.Key, k+1)
				switch {
				case h == "":
					v.add(key, "must not be empty")
				case n.Tree.Check != nil:
					if msg := n.Tree.Check(h); msg != "" {
						v.add(key, "%q %s", h, msg)
					}
				}
			}
		}
	}
	v.users(c)
}
