// SPDX-License-Identifier: GPL-3.0-or-later

package config

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// validator collects every semantic problem of a decoded Config.
type validator struct {
	idx      *docIndex
	skip     map[string]bool // keys already reported by the decoder
	problems []Problem
}

func (v *validator) add(key, format string, args ...any) {
	for k := key; k != ""; {
		if v.skip[k] {
			return // already reported, with a better message
		}
		cut := strings.LastIndexAny(k, ".[")
		if cut < 0 {
			break
		}
		k = k[:cut]
	}
	v.problems = append(v.problems, Problem{Key: key, Line: v.idx.lineOf(key), Msg: fmt.Sprintf(format, args...)})
}

// nth names the i-th (0-based) entry of an array of tables, counted from 1.
func nth(array string, i int, key string) string {
	return fmt.Sprintf("%s[%d].%s", array, i+1, key)
}

var (
	envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	packageRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9+_.-]*/[A-Za-z0-9_][A-Za-z0-9+_-]*$`)
	gradeRE   = regexp.MustCompile(`^[ABC~][0-4]?$`)
)

func (v *validator) config(c *Config) {
	v.bugzilla(&c.Bugzilla)
	for i, w := range c.Watches {
		if strings.TrimSpace(w.Product) == "" {
			v.add(nth("watch", i, "product"), "is required (e.g. %q)", DefaultProduct)
		}
		if strings.TrimSpace(w.Component) == "" {
			v.add(nth("watch", i, "component"), "is required (e.g. %q)", DefaultComponent)
		}
	}
	if c.Store.Path == "" {
		v.add("store.path", "must not be empty")
	}
	if r := c.Store.Retention.Duration; r < 0 || (r > 0 && r < 24*time.Hour) {
		v.add("store.retention", "must be 0 (keep everything) or at least 1d, e.g. \"90d\"; got %s", c.Store.Retention.Duration)
	}
	v.announce(&c.Announce)
	v.commands(&c.Commands)
	v.http(&c.HTTP)
	v.trees(c.Trees)
	v.networks(c)
	if k := c.KernelCVE; k != nil {
		if strings.TrimSpace(k.Path) == "" {
			v.add("kernel_cve.path", "is required: a clone of https://git.kernel.org/pub/scm/linux/security/vulns.git (or remove [kernel_cve] to turn the feature off)")
		}
		if k.Highlight != HighlightAffected && k.Highlight != HighlightAll {
			v.add("kernel_cve.highlight", "must be %q or %q; got %q", HighlightAffected, HighlightAll, k.Highlight)
		}
	}
	if g := c.Gentoo; g != nil && strings.TrimSpace(g.Repo) == "" {
		v.add("gentoo.repo", "is required: the Gentoo repository, e.g. /var/db/repos/gentoo (or remove [gentoo])")
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		v.add("log.level", "must be one of debug, info, warn, error; got %q", c.Log.Level)
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		v.add("log.format", "must be text or json; got %q", c.Log.Format)
	}
}

func (v *validator) bugzilla(b *Bugzilla) {
	if b.URL == "" {
		v.add("bugzilla.url", `is required (e.g. "https://bugs.gentoo.org")`)
	} else {
		v.httpURL("bugzilla.url", b.URL)
	}
	if b.PublicURL != "" && b.PublicURL != b.URL {
		v.httpURL("bugzilla.public_url", b.PublicURL)
	}
	v.secretSource("bugzilla.api_key", b.APIKeyFile, b.APIKeyEnv)
	v.positive("bugzilla.poll_interval", b.PollInterval)
	v.positive("bugzilla.timeout", b.Timeout)
	if b.PageSize < 1 {
		v.add("bugzilla.page_size", "must be at least 1; got %d", b.PageSize)
	}
	if b.CatchUp.Duration < 0 {
		v.add("bugzilla.catch_up", "must be 0 (announce nothing from before the first start) or more; got %s", b.CatchUp.Duration)
	}
	if r := b.ReconcileInterval.Duration; r < 0 || (r > 0 && r < 10*time.Second) {
		v.add("bugzilla.reconcile_interval", "must be 0 (off) or at least 10s, e.g. \"2m\"; got %s", r)
	}
}

func (v *validator) announce(a *Announce) {
	for i, cc := range a.AutoCC {
		if strings.TrimSpace(cc) == "" || strings.ContainsAny(cc, " ,") {
			v.add(fmt.Sprintf("announce.auto_cc[%d]", i+1), "must be one Bugzilla login; got %q", cc)
		}
	}
	for i, cc := range a.RestrictedAutoCC {
		if strings.TrimSpace(cc) == "" || strings.ContainsAny(cc, " ,") {
			v.add(fmt.Sprintf("announce.restricted_auto_cc[%d]", i+1), "must be one Bugzilla login; got %q", cc)
		}
	}
	if a.Restricted != RestrictedWithhold && a.Restricted != RestrictedSkip {
		v.add("announce.restricted", "must be %q or %q; got %q", RestrictedWithhold, RestrictedSkip, a.Restricted)
	}
	if a.DigestAfter < 0 {
		v.add("announce.digest_after", "must be 0 (no digest) or more; got %d", a.DigestAfter)
	}
	if a.DigestAfter > 0 {
		v.positive("announce.digest_window", a.DigestWindow)
	}
	for grade := range a.RemindGrade {
		if !gradeRE.MatchString(grade) {
			v.add("announce.remind_grade."+grade, "is not a whiteboard grade such as A, A2, B or C4")
		}
	}
}

func (v *validator) commands(c *Commands) {
	if c.Prefix == "" || strings.ContainsAny(c.Prefix, " \t\r\n") {
		v.add("commands.prefix", "must be non-empty and without spaces; got %q", c.Prefix)
	}
	v.positive("commands.claim_window", c.ClaimWindow)
	if c.PendingLines < 1 {
		v.add("commands.pending_lines", "must be at least 1; got %d", c.PendingLines)
	}
}

func (v *validator) http(h *HTTP) {
	if h.Listen != "" {
		v.hostPort("http.listen", h.Listen, true)
	}
	v.secretSource("http.webhook_secret", h.WebhookSecretFile, h.WebhookSecretEnv)
}

// secretSource checks a secret's *_file / *_env pair.
func (v *validator) secretSource(base, file, env string) {
	if file != "" && env != "" {
		v.add(base+"_env", "set %s_file or %s_env, not both", lastPart(base), lastPart(base))
	}
	if env != "" && !envNameRE.MatchString(env) {
		v.add(base+"_env", "%q is not an environment variable name", env)
	}
}

func lastPart(key string) string { return key[strings.LastIndex(key, ".")+1:] }

func (v *validator) positive(key string, d Duration) {
	if d.Duration <= 0 {
		v.add(key, "must be longer than 0; got %q", d.Duration.String())
	}
}

func (v *validator) httpURL(key, s string) {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		v.add(key, "%q is not a URL", s)
	case u.Scheme != "http" && u.Scheme != "https":
		v.add(key, "%q must be an absolute http:// or https:// URL", s)
	case u.Host == "" || u.Hostname() == "":
		v.add(key, "%q has no host", s)
	case u.RawQuery != "" || u.Fragment != "":
		v.add(key, "%q must not have a query or fragment", s)
	}
}

func (v *validator) hostPort(key, s string, emptyHost bool) {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		v.add(key, "%q must be host:port", s)
		return
	}
	if host == "" && !emptyHost {
		v.add(key, "%q has no host", s)
		return
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		v.add(key, "%q has no valid port (1-65535)", s)
	}
}
