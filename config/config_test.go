// SPDX-License-Identifier: GPL-3.0-or-later

package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
)

const samplePath = "../config.sample.toml"

// minimal is a valid config with both transports; tests append to it.
const minimal = `[bugzilla]
url = "https://bugs.example.org/"
[irc]
server = "irc.example.org:6697"
nick = "bot"
[[irc.channel]]
name = "#c"
[matrix]
homeserver = "https://matrix.example.org"
user_id = "@bot:example.org"
access_token_env = "TOKEN"
[[matrix.room]]
id = "!room:example.org"
`

// minimalLines is the number of lines of minimal.
var minimalLines = strings.Count(minimal, "\n")

func mustParse(t *testing.T, doc string) *Config {
	t.Helper()
	c, err := Parse([]byte(doc), "t.toml")
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return c
}

func problemsOf(t *testing.T, doc string) *Problems {
	t.Helper()
	c, err := Parse([]byte(doc), "t.toml")
	if err == nil {
		t.Fatalf("Parse succeeded, want problems; config %+v", c)
	}
	var ps *Problems
	if !errors.As(err, &ps) {
		t.Fatalf("error %T %v is not *Problems", err, err)
	}
	if c != nil {
		t.Errorf("Parse returned a config with its problems")
	}
	return ps
}

func TestSampleParses(t *testing.T) {
	c, err := ParseFile(samplePath)
	if err != nil {
		t.Fatalf("config.sample.toml: %v", err)
	}
	var names []string
	for _, tr := range c.Trees {
		names = append(names, tr.Name)
		for _, p := range tr.Packages {
			if !strings.HasPrefix(p, "sys-kernel/") {
				t.Errorf("tree %s: package %q is not a kernel package", tr.Name, p)
			}
		}
	}
	// Gentoo's kernel trees as of today: the distribution kernels, vanilla,
	// hardened, arch-specific -sources and rt.
	for _, want := range []string{"gentoo-sources", "vanilla", "hardened", "mips-sources", "raspberrypi-sources", "rt-sources"} {
		if _, ok := c.Tree(want); !ok {
			t.Errorf("sample has no tree %q; trees: %v", want, names)
		}
	}
	for name, pkg := range map[string]string{
		"gentoo-kernel":       "sys-kernel/gentoo-kernel",
		"gentoo-kernel-bin":   "sys-kernel/gentoo-kernel-bin",
		"gentoo-sources":      "sys-kernel/gentoo-sources",
		"vanilla-sources":     "sys-kernel/vanilla-sources",
		"vanilla-kernel":      "sys-kernel/vanilla-kernel",
		"mips-sources":        "sys-kernel/mips-sources",
		"raspberrypi-sources": "sys-kernel/raspberrypi-sources",
		"rt-sources":          "sys-kernel/rt-sources",
	} {
		tr, ok := c.Tree(name)
		if !ok || !slicesContains(tr.Packages, pkg) {
			t.Errorf("Tree(%q) = %+v, %v; want a tree with package %s", name, tr, ok, pkg)
		}
	}
	for _, retired := range []string{"sys-kernel/hardened-sources", "sys-kernel/xen-sources", "sys-kernel/tuxonice-sources"} {
		for _, tr := range c.Trees {
			if slicesContains(tr.Packages, retired) {
				t.Errorf("tree %s lists %s, which Gentoo no longer has", tr.Name, retired)
			}
		}
	}
	if c.IRC == nil || c.Matrix == nil || len(c.IRC.Channels) != 2 || len(c.Matrix.Rooms) != 1 {
		t.Errorf("sample should show both transports with 2 channels and 1 room")
	}
	if c.Bugzilla.APIKeyFile != "/etc/ksecbot/bugzilla.key" || c.Bugzilla.APIKey != "" {
		t.Errorf("Parse must not read secrets: api_key_file %q, key set %v", c.Bugzilla.APIKeyFile, c.Bugzilla.APIKey != "")
	}
}

func slicesContains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// TestSampleDocumentsEveryKey keeps config.sample.toml complete: every key
// of every table appears in it, set or commented out.
func TestSampleDocumentsEveryKey(t *testing.T) {
	data, err := os.ReadFile(samplePath)
	if err != nil {
		t.Fatal(err)
	}
	sample := string(data)
	var walk func(prefix string, typ reflect.Type)
	walk = func(prefix string, typ reflect.Type) {
		for f := range typ.Fields() {
			name := tomlName(f)
			if name == "" {
				continue
			}
			key := joinKey(prefix, name)
			ft := f.Type
			for ft.Kind() == reflect.Pointer || ft.Kind() == reflect.Slice {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Map || ft.Kind() == reflect.Struct && ft != reflect.TypeFor[Duration]() {
				header := regexp.MustCompile(`(?m)^#? ?\[\[?` + regexp.QuoteMeta(key) + `\]\]?`)
				if !header.MatchString(sample) {
					t.Errorf("config.sample.toml has no [%s] table", key)
				}
				if ft.Kind() == reflect.Struct {
					walk(key, ft)
				}
				continue
			}
			set := regexp.MustCompile(`(?m)^#? ?` + regexp.QuoteMeta(name) + ` = `)
			listed := regexp.MustCompile(`(?m)^#   ` + regexp.QuoteMeta(name) + ` `)
			if !set.MatchString(sample) && !listed.MatchString(sample) {
				t.Errorf("config.sample.toml does not document %s", key)
			}
		}
	}
	walk("", reflect.TypeFor[Config]())
}

func TestDefaults(t *testing.T) {
	c := mustParse(t, minimal)
	checks := []struct {
		name      string
		got, want any
	}{
		{"bugzilla.url (trailing slash trimmed)", c.Bugzilla.URL, "https://bugs.example.org"},
		{"bugzilla.public_url", c.Bugzilla.PublicURL, "https://bugs.example.org"},
		{"bugzilla.poll_interval", c.Bugzilla.PollInterval.Duration, 60 * time.Second},
		{"bugzilla.timeout", c.Bugzilla.Timeout.Duration, 30 * time.Second},
		{"bugzilla.overlap", c.Bugzilla.Overlap.Duration, 2 * time.Minute},
		{"bugzilla.page_size", c.Bugzilla.PageSize, 500},
		{"watch", c.Watches, []Watch{{"Gentoo Security", "Kernel"}}},
		{"store.path", c.Store.Path, "ksecbot.db"},
		{"store.retention", c.Store.Retention.Duration, 90 * 24 * time.Hour},
		{"announce.restricted", c.Announce.Restricted, "withhold"},
		{"announce.digest_after", c.Announce.DigestAfter, 5},
		{"announce.digest_window", c.Announce.DigestWindow.Duration, 30 * time.Second},
		{"announce.remind_after", c.Announce.RemindAfter.Duration, 4 * time.Hour},
		{"announce.changes", *c.Announce.Changes, true},
		{"commands.prefix", c.Commands.Prefix, "!"},
		{"commands.claim_window", c.Commands.ClaimWindow.Duration, 15 * time.Minute},
		{"commands.pending_lines", c.Commands.PendingLines, 5},
		{"commands.preview_every", c.Commands.PreviewEvery.Duration, 10 * time.Minute},
		{"irc.user", c.IRC.User, "bot"},
		{"irc.realname", c.IRC.RealName, "ksecbot kernel security bot"},
		{"irc.sasl_mech", c.IRC.SASLMech, "PLAIN"},
		{"irc.sasl_user (no password)", c.IRC.SASLUser, ""},
		{"irc.flood.burst", c.IRC.Flood.Burst, 4},
		{"irc.flood.interval", c.IRC.Flood.Interval.Duration, 2 * time.Second},
		{"irc.formatting", *c.IRC.Formatting, true},
		{"irc.reconnect_max", c.IRC.ReconnectMax.Duration, time.Minute},
		{"irc.channel[1].previews", *c.IRC.Channels[0].Previews, true},
		{"matrix.room[1].previews", *c.Matrix.Rooms[0].Previews, true},
		{"matrix.state_path", c.Matrix.StatePath, "ksecbot-matrix.db"},
		{"matrix.share_keys", c.Matrix.ShareKeys, "cross-signed"},
		{"matrix.recovery_key_file (beside the state)", c.Matrix.RecoveryKeyFile, ""},
		{"log.level", c.Log.Level, "info"},
		{"log.format", c.Log.Format, "text"},
		{"metadata.path", c.Metadata.Path, "t.toml"},
	}
	for _, ck := range checks {
		if !reflect.DeepEqual(ck.got, ck.want) {
			t.Errorf("%s = %v, want %v", ck.name, ck.got, ck.want)
		}
	}
}

func TestKernelCVEOptional(t *testing.T) {
	c := mustParse(t, minimal)
	if c.KernelCVE != nil || c.Gentoo != nil {
		t.Fatalf("without the tables the feature must be off: %+v %+v", c.KernelCVE, c.Gentoo)
	}
	c = mustParse(t, minimal+"[kernel_cve]\npath = \"/var/lib/ksecbot/vulns\"\n[gentoo]\nrepo = \"/var/db/repos/gentoo\"\n")
	if c.KernelCVE.Path != "/var/lib/ksecbot/vulns" || c.KernelCVE.Highlight != HighlightAffected || c.Gentoo.Repo != "/var/db/repos/gentoo" {
		t.Fatalf("got %+v %+v", c.KernelCVE, c.Gentoo)
	}
	if c.KernelCVE.ScanInterval.Duration != 5*time.Minute {
		t.Errorf("kernel_cve.scan_interval defaults to %v, want 5m", c.KernelCVE.ScanInterval)
	}
	c = mustParse(t, minimal+"[kernel_cve]\npath = \"v\"\nhighlight = \"all\"\nscan_interval = \"0\"\n")
	if c.KernelCVE.Highlight != HighlightAll {
		t.Fatalf("highlight = %q", c.KernelCVE.Highlight)
	}
	if c.KernelCVE.ScanInterval.Duration != 0 {
		t.Errorf("scan_interval = \"0\" (the watch off) read as %v", c.KernelCVE.ScanInterval)
	}
}

// TestCVEFeedAndUpstreamVersions: cve_feed on channels, rooms and the
// console; a tree's upstream_versions.
func TestCVEFeedAndUpstreamVersions(t *testing.T) {
	doc := strings.Replace(minimal, "name = \"#c\"\n", "name = \"#c\"\ncve_feed = true\n", 1) +
		"[[tree]]\nname = \"pf-sources\"\npackages = [\"sys-kernel/pf-sources\"]\nupstream_versions = { \"6.12_p5\" = \"6.12.10\" }\n[console]\ncve_feed = true\n"
	c := mustParse(t, doc)
	if !c.IRC.Channels[0].CVEFeed || c.Matrix.Rooms[0].CVEFeed || !c.Console.CVEFeed {
		t.Errorf("cve_feed: irc %v, matrix %v (default false), console %v", c.IRC.Channels[0].CVEFeed, c.Matrix.Rooms[0].CVEFeed, c.Console.CVEFeed)
	}
	if got := c.Trees[0].UpstreamVersions["6.12_p5"]; got != "6.12.10" {
		t.Errorf("upstream_versions[6.12_p5] = %q", got)
	}
}

func TestExplicitValuesBeatDefaults(t *testing.T) {
	c := mustParse(t, minimal+`[announce]
remind_after = "0s"
digest_after = 0
changes = false
restricted = "skip"
[announce.remind_grade]
A = "2h"
C = "1w2d"
[console]
`)
	if c.Announce.RemindAfter.Duration != 0 || c.Announce.DigestAfter != 0 || *c.Announce.Changes || c.Announce.Restricted != "skip" {
		t.Errorf("explicit zero values were overridden: %+v", c.Announce)
	}
	if got := c.Announce.RemindGrade["C"].Duration; got != 9*24*time.Hour {
		t.Errorf("remind_grade.C = %v, want 216h", got)
	}
	if c.Console == nil || !*c.Console.Private {
		t.Errorf("console.private should default to true: %+v", c.Console)
	}
}

func TestProblems(t *testing.T) {
	n := minimalLines
	tests := []struct {
		name string
		doc  string
		key  string
		line int
		msg  string
	}{
		{"misspelled key", minimal + "[irc.flood]\nburts = 3\n", "irc.flood.burts", n + 2, `unknown key (did you mean "burst"?)`},
		{"unknown key in array entry", minimal + "[[irc.channel]]\nname = \"#d\"\nprivat = true\n", "irc.channel[2].privat", n + 3, `unknown key (did you mean "private"?)`},
		{"unknown table", minimal + "[ircc]\nx = 1\n", "ircc", n + 1, "unknown table"},
		{"chanels", strings.Replace(minimal, "[[irc.channel]]", "[[irc.chanels]]", 1), "irc.chanels[1]", 6, `unknown table (did you mean "channel"?)`},
		{"wrong type", strings.Replace(minimal, `nick = "bot"`, "nick = 5", 1), "irc.nick", 5, "expected a string, got a TOML integer"},
		{"wrong type bool", minimal + "[[irc.channel]]\nname = \"#d\"\nprivate = \"yes\"\n", "irc.channel[2].private", n + 3, "expected a boolean"},
		{"wrong type array", minimal + "[[tree]]\nname = \"x\"\naliases = \"y\"\n", "tree[1].aliases", n + 3, "expected an array of strings"},
		{"bad duration", minimal + "[announce]\nremind_after = \"4 hours\"\n", "announce.remind_after", n + 2, `invalid duration "4 hours"`},
		{"short retention", minimal + "[store]\nretention = \"1h\"\n", "store.retention", n + 2, `must be 0 (keep everything) or at least 1d`},
		{"integer duration", strings.Replace(minimal, "[irc]", "poll_interval = 60\n[irc]", 1), "bugzilla.poll_interval", 3, `expected a duration string such as "90s", got a TOML integer`},
		{"negative duration", minimal + "[irc.flood]\ninterval = \"-2s\"\n", "irc.flood.interval", n + 2, "negative"},
		{"zero poll", strings.Replace(minimal, "[irc]", "poll_interval = \"0s\"\n[irc]", 1), "bugzilla.poll_interval", 3, "must be longer than 0"},
		{"missing url", strings.Replace(minimal, "url = \"https://bugs.example.org/\"\n", "", 1), "bugzilla.url", 1, "is required"},
		{"bad url", strings.Replace(minimal, "https://bugs.example.org/", "bugs.example.org", 1), "bugzilla.url", 2, "absolute http:// or https:// URL"},
		{"bad public url", strings.Replace(minimal, "[irc]", "public_url = \"ftp://x\"\n[irc]", 1), "bugzilla.public_url", 3, "absolute http"},
		{"api key twice", strings.Replace(minimal, "[irc]", "api_key_file = \"/k\"\napi_key_env = \"K\"\n[irc]", 1), "bugzilla.api_key_env", 4, "not both"},
		{"bad env name", strings.Replace(minimal, `"TOKEN"`, `"MY TOKEN"`, 1), "matrix.access_token_env", 11, "not an environment variable name"},
		{"missing nick", strings.Replace(minimal, "nick = \"bot\"\n", "", 1), "irc.nick", 3, "is required"},
		{"bad nick", strings.Replace(minimal, `nick = "bot"`, `nick = "9 bot"`, 1), "irc.nick", 5, "not a valid IRC nick"},
		{"server without port", strings.Replace(minimal, "irc.example.org:6697", "irc.example.org", 1), "irc.server", 4, "host:port"},
		{"server bad port", strings.Replace(minimal, "irc.example.org:6697", "irc.example.org:ircs", 1), "irc.server", 4, "valid port"},
		{"channel without #", minimal + "[[irc.channel]]\nname = \"gentoo\"\n", "irc.channel[2].name", n + 2, "must start with # or &"},
		{"kernel_cve without path", minimal + "[kernel_cve]\nhighlight = \"all\"\n", "kernel_cve.path", n + 1, "is required"},
		{"kernel_cve bad highlight", minimal + "[kernel_cve]\npath = \"/v\"\nhighlight = \"fixed\"\n", "kernel_cve.highlight", n + 3, `must be "affected" or "all"; got "fixed"`},
		{"kernel_cve misspelled", minimal + "[kernel_cve]\npath = \"/v\"\nhighlite = \"all\"\n", "kernel_cve.highlite", n + 3, "unknown key"},
		{"gentoo empty repo", minimal + "[gentoo]\nrepo = \"\"\n", "gentoo.repo", n + 2, "is required"},
		{"channel twice", minimal + "[[irc.channel]]\nname = \"#C\"\n", "irc.channel[2].name", n + 2, "already listed as irc.channel[1]"},
		{"channel key twice", minimal + "[[irc.channel]]\nname = \"#d\"\nkey = \"k\"\nkey_file = \"/f\"\n", "irc.channel[2].key_file", n + 4, "not both"},
		{"sasl mech", strings.Replace(minimal, `nick = "bot"`, "nick = \"bot\"\nsasl_mech = \"SCRAM-SHA-256\"", 1), "irc.sasl_mech", 6, "PLAIN or EXTERNAL"},
		{"external without cert", strings.Replace(minimal, `nick = "bot"`, "nick = \"bot\"\nsasl_mech = \"external\"\ntls = true", 1), "irc.tls_cert_file", 3, "is required"},
		{"flood burst", minimal + "[irc.flood]\nburst = 0\n", "irc.flood.burst", n + 2, "at least 1"},
		{"bad homeserver", strings.Replace(minimal, "https://matrix.example.org", "matrix.example.org", 1), "matrix.homeserver", 9, "absolute http"},
		{"bad user id", strings.Replace(minimal, "@bot:example.org", "bot", 1), "matrix.user_id", 10, "not a Matrix user ID"},
		{"no matrix auth", strings.Replace(minimal, "access_token_env = \"TOKEN\"\n", "", 1), "matrix", 8, "none is set"},
		{"two matrix tokens", strings.Replace(minimal, "[[matrix.room]]", "access_token_file = \"/t\"\n[[matrix.room]]", 1), "matrix.access_token_env", 11, "not both"},
		{"two matrix passwords", strings.Replace(minimal, "[[matrix.room]]", "password_file = \"/p\"\npassword_env = \"P\"\n[[matrix.room]]", 1), "matrix.password_env", 13, "not both"},
		{"share_keys", strings.Replace(minimal, "[[matrix.room]]", "share_keys = \"verified\"\n[[matrix.room]]", 1), "matrix.share_keys", 12, `"verified" is not "cross-signed"`},
		{"avatar web url", strings.Replace(minimal, "[[matrix.room]]", "avatar = \"https://example.org/a.png\"\n[[matrix.room]]", 1), "matrix.avatar", 12, "not a web URL"},
		{"avatar bad mxc", strings.Replace(minimal, "[[matrix.room]]", "avatar = \"mxc://example.org\"\n[[matrix.room]]", 1), "matrix.avatar", 12, "not an mxc://server/media-id URL"},
		{"display_name control", strings.Replace(minimal, "[[matrix.room]]", "display_name = \"bot\\u0007\"\n[[matrix.room]]", 1), "matrix.display_name", 12, "printable"},
		{"bad room", strings.Replace(minimal, "!room:example.org", "room", 1), "matrix.room[1].id", 13, "not a room ID"},
		{"restricted", minimal + "[announce]\nrestricted = \"hide\"\n", "announce.restricted", n + 2, `must be "withhold" or "skip"`},
		{"digest negative", minimal + "[announce]\ndigest_after = -1\n", "announce.digest_after", n + 2, "0 (no digest) or more"},
		{"bad grade", minimal + "[announce.remind_grade]\nZ9 = \"1h\"\n", "announce.remind_grade.Z9", n + 2, "not a whiteboard grade"},
		{"tree without name", minimal + "[[tree]]\npackages = [\"sys-kernel/gentoo-sources\"]\n", "tree[1].name", n + 1, "is required"},
		{"tree twice", minimal + "[[tree]]\nname = \"rt\"\n[[tree]]\nname = \"RT\"\n", "tree[2].name", n + 4, "already used by tree[1].name"},
		{"alias clash", minimal + "[[tree]]\nname = \"a\"\n[[tree]]\nname = \"b\"\naliases = [\"c\",\n  \"a\"]\n", "tree[2].aliases[2]", n + 6, "already used by tree[1].name"},
		{"bad package", minimal + "[[tree]]\nname = \"a\"\npackages = [\"gentoo-sources\"]\n", "tree[1].packages[1]", n + 3, "not a package name"},
		{"upstream_versions bad value", minimal + "[[tree]]\nname = \"pf\"\nupstream_versions = { \"6.12_p5\" = \"6.12.x\" }\n", "tree[1].upstream_versions", n + 3, `"6.12_p5" = "6.12.x": the value must be an upstream kernel release`},
		{"upstream_versions revision", minimal + "[[tree]]\nname = \"pf\"\nupstream_versions = { \"6.12_p5-r1\" = \"6.12.10\" }\n", "tree[1].upstream_versions", n + 3, "not an ebuild version without revision"},
		{"auto_cc without logins", minimal + "[[tree]]\nname = \"a\"\nauto_cc = true\n", "tree[1].auto_cc", n + 3, "needs at least one login"},
		{"user role", minimal + "[[user]]\nbugzilla = \"a@g.org\"\nirc_account = \"a\"\nroles = [\"root\"]\n", "user[1].roles[1]", n + 4, "security, maintainer or admin"},
		{"user without bugzilla", minimal + "[[user]]\nirc_account = \"a\"\n", "user[1].bugzilla", n + 1, "is required"},
		{"user without identity", minimal + "[[user]]\nbugzilla = \"a@g.org\"\n", "user[1].irc_account", n + 1, "set irc_account or matrix"},
		{"user twice", minimal + "[[user]]\nbugzilla = \"a@g.org\"\nirc_account = \"a\"\n[[user]]\nbugzilla = \"b@g.org\"\nirc_account = \"A\"\n", "user[2].irc_account", n + 6, "already linked by user[1]"},
		{"log level", minimal + "[log]\nlevel = \"loud\"\n", "log.level", n + 2, "debug, info, warn, error"},
		{"inline table key", minimal + "[log]\nlevel = \"info\"\n[http]\nlisten = \"localhost\"\n", "http.listen", n + 4, "host:port"},
		{"duplicate key", minimal + "[log]\nlevel = \"info\"\nlevel = \"debug\"\n", "log.level", n + 3, "already"},
		{"syntax error", minimal + "[log\n", "", n + 1, "syntax error"},
		{"string for table", minimal + "store = \"x\"\n", "matrix.room[1].store", n + 1, "unknown key"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ps := problemsOf(t, tc.doc)
			for _, p := range ps.List {
				if p.Key == tc.key && p.Line == tc.line && strings.Contains(p.Msg, tc.msg) {
					want := fmt.Sprintf("t.toml:%d: ", tc.line)
					if tc.key != "" {
						want += tc.key + ": "
					}
					if !strings.Contains(ps.Error(), want+p.Msg) {
						t.Errorf("Error() = %q, want it to contain %q", ps.Error(), want+p.Msg)
					}
					return
				}
			}
			t.Errorf("want %s at line %d: %q; got:\n%v", tc.key, tc.line, tc.msg, ps)
		})
	}
}

// TestAllProblemsAtOnce checks that problems of every kind are all
// reported, in line order, and that a bad key hides no other problem.
func TestAllProblemsAtOnce(t *testing.T) {
	doc := `[bugzilla]
url = "https://bugs.example.org"
poll_interval = "soon"
page_size = "many"
[irc]
server = "irc.example.org:6697"
nick = "bot"
chanels = ["#a"]
reconnect_max = 5
[[irc.channel]]
name = "#a"
[[irc.channel]]
name = "b"
notice = "no"
[[user]]
bugzilla = "x@g.org"
roles = ["boss"]
`
	ps := problemsOf(t, doc)
	type kl struct {
		Key  string
		Line int
	}
	var got []kl
	for _, p := range ps.List {
		got = append(got, kl{p.Key, p.Line})
	}
	want := []kl{
		{"bugzilla.poll_interval", 3},
		{"bugzilla.page_size", 4},
		{"irc.chanels", 8},
		{"irc.reconnect_max", 9},
		{"irc.channel[2].name", 13},
		{"irc.channel[2].notice", 14},
		{"user[1].irc_account", 15},
		{"user[1].roles[1]", 17},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("problems:\n%v\ngot  %v\nwant %v", ps, got, want)
	}
	if lines := strings.Count(ps.Error(), "\n") + 1; lines != len(want) {
		t.Errorf("Error() has %d lines, want one per problem:\n%s", lines, ps.Error())
	}
}

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		err  string
	}{
		{"60s", time.Minute, ""},
		{"1h30m", 90 * time.Minute, ""},
		{"3d", 72 * time.Hour, ""},
		{"2w", 14 * 24 * time.Hour, ""},
		{"1w2d12h", 9*24*time.Hour + 12*time.Hour, ""},
		{"1.5d", 36 * time.Hour, ""},
		{"0", 0, ""},
		{"0s", 0, ""},
		{"+2d", 48 * time.Hour, ""},
		{"", 0, "empty"},
		{"-1s", 0, "negative"},
		{"-3d", 0, "negative"},
		{"60", 0, "missing unit"},
		{"3y", 0, "unknown unit"},
		{"d", 0, "missing number"},
		{"4 hours", 0, "unknown unit"},
		{"1.2.3d", 0, "bad number"},
		{"99999999999w", 0, "too large"},
		{"100000h100000h100000h100000h", 0, ""},
		{"2562047h2562047h", 0, "too large"},
	}
	for _, tc := range tests {
		got, err := ParseDuration(tc.in)
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("ParseDuration(%q): %v", tc.in, err)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("ParseDuration(%q) = %v, %v; want error %q", tc.in, got, err, tc.err)
		case tc.err == "" && tc.want != 0 && got != tc.want:
			t.Errorf("ParseDuration(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
	var d Duration
	if err := d.UnmarshalText([]byte("2w")); err != nil || d.Duration != 336*time.Hour {
		t.Errorf("UnmarshalText(2w) = %v, %v", d, err)
	}
	text, _ := d.MarshalText()
	var back Duration
	if err := back.UnmarshalText(text); err != nil || back != d {
		t.Errorf("MarshalText round trip: %q -> %v, %v", text, back, err)
	}
}

func TestLookups(t *testing.T) {
	c, err := ParseFile(samplePath)
	if err != nil {
		t.Fatal(err)
	}
	trees := []struct{ in, want string }{
		{"gentoo-sources", "gentoo-sources"},
		{"Gentoo-Kernel-Bin", "gentoo-sources"},
		{"VANILLA-KERNEL", "vanilla"},
		{"rpi", "raspberrypi-sources"},
		{"hardened", "hardened"},
		{"nonexistent-sources", ""},
		{"", ""},
	}
	for _, tc := range trees {
		tr, ok := c.Tree(tc.in)
		if ok {
			if tr.Name != tc.want {
				t.Errorf("Tree(%q) = %s, want %q", tc.in, tr.Name, tc.want)
			}
		} else if tc.want != "" {
			t.Errorf("Tree(%q) not found, want %s", tc.in, tc.want)
		}
	}
	if tr, _ := c.Tree("mips"); tr != &c.Trees[3] {
		t.Errorf("Tree must point into c.Trees")
	}
	users := []struct {
		irc, mxid, want string
	}{
		{"alice", "", "alice@gentoo.org"},
		{"ALICE", "", "alice@gentoo.org"},
		{"", "@alice:matrix.org", "alice@gentoo.org"},
		{"", "@Alice:matrix.org", ""},
		{"kernelnick", "", "kernelnick@gentoo.org"},
		{"*", "", ""},
		{"", "", ""},
		{"mallory", "@mallory:matrix.org", ""},
	}
	for _, tc := range users {
		var u *User
		var ok bool
		if tc.irc != "" || tc.mxid == "" {
			u, ok = c.User("irc", tc.irc)
		} else {
			u, ok = c.User("matrix", tc.mxid)
		}
		got := ""
		if ok {
			got = u.Bugzilla
		}
		if got != tc.want {
			t.Errorf("user(%q, %q) = %q, want %q", tc.irc, tc.mxid, got, tc.want)
		}
	}
	u, _ := c.User("irc", "kernelnick")
	if !u.HasRole(RoleSecurity) || !u.HasRole(RoleMaintainer) {
		t.Errorf("admin implies every role: %+v", u)
	}
	u, _ = c.User("irc", "alice")
	if u.HasRole(RoleMaintainer) || !u.HasRole(RoleSecurity) {
		t.Errorf("alice roles: %+v", u)
	}
}

func TestRunCheck(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.toml")
	doc := strings.Replace(minimal, "[[irc.channel]]", "chanels = [\"#c\"]\n[[irc.channel]]", 1)
	if err := os.WriteFile(bad, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.toml")
	secret := filepath.Join(dir, "secret.toml")
	if err := os.WriteFile(secret, []byte(minimal+"[http]\nwebhook_secret_file = \""+filepath.Join(dir, "nope")+"\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		path    string
		secrets bool
		code    int
		out     string
	}{
		{"sample", samplePath, false, 0, samplePath + ": ok"},
		{"misspelled key", bad, false, ExitConfig, bad + `:6: irc.chanels: unknown key (did you mean "channel"?)`},
		{"missing file", missing, false, ExitConfig, "no such file"},
		{"secrets not read", secret, false, 0, "ok"},
		{"secrets read", secret, true, ExitConfig, secret + fmt.Sprintf(":%d: http.webhook_secret_file: secret file %s does not exist", minimalLines+2, filepath.Join(dir, "nope"))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out strings.Builder
			if code := RunCheck(&out, tc.path, tc.secrets); code != tc.code {
				t.Errorf("exit %d, want %d; output:\n%s", code, tc.code, out.String())
			}
			if !strings.Contains(out.String(), tc.out) {
				t.Errorf("output:\n%s\nwant it to contain %q", out.String(), tc.out)
			}
		})
	}
}

func TestDataWarnings(t *testing.T) {
	dir := t.TempDir()
	c := mustParse(t, minimal+"[kernel_cve]\npath = \""+dir+"/vulns\"\n\n[gentoo]\nrepo = \"../gentoo/testdata/repo\"\n")
	ws := c.DataWarnings()
	if len(ws) != 1 || ws[0].Key != "kernel_cve.path" || ws[0].Line != minimalLines+2 || !strings.Contains(ws[0].Msg, "clone https://git.kernel.org/pub/scm/linux/security/vulns.git") {
		t.Fatalf("warnings %v", ws)
	}
	os.MkdirAll(filepath.Join(dir, "vulns", "cve", "published"), 0o755)
	if ws := c.DataWarnings(); len(ws) != 0 {
		t.Fatalf("after the clone: %v", ws)
	}
}
