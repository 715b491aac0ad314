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
	envNameRE   = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	mxidRE      = regexp.MustCompile(`^@[^:\s]+:[^\s]+$`)
	roomRE      = regexp.MustCompile(`^[!#][^:\s]+:[^\s]+$`)
	packageRE   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9+_.-]*/[A-Za-z0-9_][A-Za-z0-9+_-]*$`)
	gradeRE     = regexp.MustCompile(`^[ABC~][0-4]?$`)
	nickBadRune = " ,*?!@#&:\x00\r\n\a"
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
	if c.IRC != nil {
		v.irc(c.IRC)
	}
	if c.Matrix != nil {
		v.matrix(c.Matrix)
	}
	v.trees(c.Trees)
	v.users(c.Users)
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

func (v *validator) irc(i *IRC) {
	if i.Server == "" {
		v.add("irc.server", `is required (e.g. "irc.libera.chat:6697")`)
	} else {
		v.hostPort("irc.server", i.Server, false)
	}
	if i.Nick == "" {
		v.add("irc.nick", "is required")
	} else if !validNick(i.Nick) {
		v.add("irc.nick", "%q is not a valid IRC nick", i.Nick)
	}
	if strings.ContainsAny(i.User, " @\r\n\x00") {
		v.add("irc.user", "%q is not a valid IRC user name", i.User)
	}
	switch i.SASLMech {
	case "PLAIN":
		hasPass := i.SASLPasswordFile != "" || i.SASLPasswordEnv != ""
		if i.SASLUser != "" && !hasPass {
			v.add("irc.sasl_user", "needs sasl_password_file or sasl_password_env")
		}
	case "EXTERNAL":
		if i.TLSCertFile == "" {
			v.add("irc.tls_cert_file", "is required by sasl_mech = \"EXTERNAL\"")
		}
		if !i.TLS {
			v.add("irc.tls", "must be true for sasl_mech = \"EXTERNAL\"")
		}
	default:
		v.add("irc.sasl_mech", "must be PLAIN or EXTERNAL; got %q", i.SASLMech)
	}
	v.secretSource("irc.sasl_password", i.SASLPasswordFile, i.SASLPasswordEnv)
	if (i.TLSCertFile == "") != (i.TLSKeyFile == "") {
		v.add("irc.tls_key_file", "tls_cert_file and tls_key_file go together")
	}
	seen := map[string]int{}
	for k, ch := range i.Channels {
		key := nth("irc.channel", k, "name")
		switch {
		case ch.Name == "":
			v.add(key, "is required (e.g. \"#gentoo-kernel\")")
		case ch.Name[0] != '#' && ch.Name[0] != '&':
			v.add(key, "%q must start with # or &", ch.Name)
		case strings.ContainsAny(ch.Name, " ,:\a\x00\r\n") || len(ch.Name) < 2:
			v.add(key, "%q is not a valid channel name", ch.Name)
		default:
			fold := strings.ToLower(ch.Name)
			if prev, dup := seen[fold]; dup {
				v.add(key, "%q is already listed as irc.channel[%d]", ch.Name, prev+1)
			} else {
				seen[fold] = k
			}
		}
		if ch.Key != "" && ch.KeyFile != "" {
			v.add(nth("irc.channel", k, "key_file"), "set key or key_file, not both")
		}
		if strings.ContainsAny(ch.Key, " ,\r\n\x00") {
			v.add(nth("irc.channel", k, "key"), "must not contain spaces, commas or control characters")
		}
	}
	if !i.Flood.Disabled {
		if i.Flood.Burst < 1 {
			v.add("irc.flood.burst", "must be at least 1; got %d", i.Flood.Burst)
		}
		v.positive("irc.flood.interval", i.Flood.Interval)
	}
	v.positive("irc.reconnect_max", i.ReconnectMax)
	for k, a := range i.Admins {
		if strings.TrimSpace(a) == "" || strings.ContainsAny(a, " ,*?!@\r\n\x00") {
			v.add(fmt.Sprintf("irc.admins[%d]", k+1), "%q is not a services account name", a)
		}
	}
}

func validNick(n string) bool {
	if n == "" || strings.ContainsAny(n, nickBadRune) || n[0] == '$' || n[0] == '-' || (n[0] >= '0' && n[0] <= '9') {
		return false
	}
	for _, r := range n {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}

func (v *validator) matrix(m *Matrix) {
	if m.Homeserver == "" {
		v.add("matrix.homeserver", `is required (e.g. "https://matrix.org")`)
	} else {
		v.httpURL("matrix.homeserver", m.Homeserver)
	}
	if m.UserID == "" {
		v.add("matrix.user_id", `is required (e.g. "@ksecbot:example.org")`)
	} else if !mxidRE.MatchString(m.UserID) {
		v.add("matrix.user_id", "%q is not a Matrix user ID like @name:server", m.UserID)
	}
	var auth []string
	for _, a := range []struct{ key, val string }{
		{"access_token_file", m.AccessTokenFile}, {"access_token_env", m.AccessTokenEnv},
		{"password_file", m.PasswordFile}, {"password_env", m.PasswordEnv},
	} {
		if a.val != "" {
			auth = append(auth, a.key)
		}
	}
	switch len(auth) {
	case 0:
		v.add("matrix", "set exactly one of access_token_file, access_token_env, password_file, password_env; none is set")
	case 1:
	default:
		v.add("matrix."+auth[1], "set exactly one of access_token_file, access_token_env, password_file, password_env; got %s", strings.Join(auth, " and "))
	}
	v.secretSource("matrix.access_token", m.AccessTokenFile, m.AccessTokenEnv)
	v.secretSource("matrix.password", m.PasswordFile, m.PasswordEnv)
	seen := map[string]int{}
	for k, r := range m.Rooms {
		key := nth("matrix.room", k, "id")
		switch {
		case r.ID == "":
			v.add(key, `is required (e.g. "#gentoo-kernel:matrix.org" or "!abc:matrix.org")`)
		case !roomRE.MatchString(r.ID):
			v.add(key, "%q is not a room ID (!id:server) or alias (#name:server)", r.ID)
		default:
			if prev, dup := seen[r.ID]; dup {
				v.add(key, "%q is already listed as matrix.room[%d]", r.ID, prev+1)
			} else {
				seen[r.ID] = k
			}
		}
	}
	for k, a := range m.Admins {
		if !mxidRE.MatchString(a) {
			v.add(fmt.Sprintf("matrix.admins[%d]", k+1), "%q is not a Matrix user ID like @name:server", a)
		}
	}
}

func (v *validator) trees(trees []Tree) {
	type owner struct {
		tree int
		key  string
	}
	names := map[string]owner{}
	claim := func(name, key string, tree int) {
		fold := strings.ToLower(name)
		if prev, ok := names[fold]; ok {
			if prev.tree == tree {
				v.add(key, "%q is listed twice in this tree", name)
			} else {
				v.add(key, "%q is already used by %s", name, prev.key)
			}
			return
		}
		names[fold] = owner{tree, key}
	}
	for t, tr := range trees {
		key := nth("tree", t, "name")
		if strings.TrimSpace(tr.Name) == "" {
			v.add(key, "is required (e.g. \"gentoo-sources\")")
		} else if strings.ContainsAny(tr.Name, " ,") {
			v.add(key, "%q must not contain spaces or commas", tr.Name)
		} else {
			claim(tr.Name, key, t)
		}
	}
	for t, tr := range trees {
		for k, a := range tr.Aliases {
			key := fmt.Sprintf("tree[%d].aliases[%d]", t+1, k+1)
			if strings.TrimSpace(a) == "" || strings.ContainsAny(a, " ,") {
				v.add(key, "%q must be non-empty, without spaces or commas", a)
				continue
			}
			claim(a, key, t)
		}
		for k, p := range tr.Packages {
			if !packageRE.MatchString(p) {
				v.add(fmt.Sprintf("tree[%d].packages[%d]", t+1, k+1), "%q is not a package name like sys-kernel/gentoo-sources", p)
			}
		}
		for k, b := range tr.Bugzilla {
			if strings.TrimSpace(b) == "" || strings.ContainsAny(b, " ,") {
				v.add(fmt.Sprintf("tree[%d].bugzilla[%d]", t+1, k+1), "must be one Bugzilla login; got %q", b)
			}
		}
		for k, n := range tr.IRC {
			if !validNick(n) {
				v.add(fmt.Sprintf("tree[%d].irc[%d]", t+1, k+1), "%q is not a valid IRC nick", n)
			}
		}
		for k, m := range tr.Matrix {
			if !mxidRE.MatchString(m) {
				v.add(fmt.Sprintf("tree[%d].matrix[%d]", t+1, k+1), "%q is not a Matrix user ID like @name:server", m)
			}
		}
		if tr.AutoCC && len(tr.Bugzilla) == 0 {
			v.add(nth("tree", t, "auto_cc"), "needs at least one login in bugzilla")
		}
	}
}

func (v *validator) users(users []User) {
	irc := map[string]int{}
	mx := map[string]int{}
	for u, us := range users {
		if strings.TrimSpace(us.Bugzilla) == "" {
			v.add(nth("user", u, "bugzilla"), "is required: the Bugzilla login that this person's commands act as")
		}
		if us.IRCAccount == "" && us.Matrix == "" {
			v.add(nth("user", u, "irc_account"), "set irc_account or matrix (or both): the chat identity of %q", us.Bugzilla)
		}
		if us.IRCAccount != "" {
			fold := strings.ToLower(us.IRCAccount)
			if prev, dup := irc[fold]; dup {
				v.add(nth("user", u, "irc_account"), "%q is already linked by user[%d]", us.IRCAccount, prev+1)
			} else {
				irc[fold] = u
			}
		}
		if us.Matrix != "" {
			if !mxidRE.MatchString(us.Matrix) {
				v.add(nth("user", u, "matrix"), "%q is not a Matrix user ID like @name:server", us.Matrix)
			} else if prev, dup := mx[us.Matrix]; dup {
				v.add(nth("user", u, "matrix"), "%q is already linked by user[%d]", us.Matrix, prev+1)
			} else {
				mx[us.Matrix] = u
			}
		}
		for r, role := range us.Roles {
			switch role {
			case RoleSecurity, RoleMaintainer, RoleAdmin:
			default:
				v.add(fmt.Sprintf("user[%d].roles[%d]", u+1, r+1), "must be security, maintainer or admin; got %q", role)
			}
		}
	}
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
