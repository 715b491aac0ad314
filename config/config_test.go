// SPDX-License-Identifier: GPL-3.0-or-later

package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

const samplePath = "../config.sample.toml"

// minimal is a valid config with a network table (testnet_test.go); tests
// append to it.
const minimal = `[bugzilla]
url = "https://bugs.example.org/"
[chat]
server = "chat.example.org:6697"
nick = "bot"
[[chat.channel]]
name = "#c"
`

// minimalLines is the number of lines of minimal.
var minimalLines = strings.Count(minimal, "\n")

func mustParse(t *testing.T, doc string) *Config {
	t.Helper()
	c, err := Parse([]byte(doc), "t.toml", testNets...)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return c
}

func problemsOf(t *testing.T, doc string) *Problems {
	t.Helper()
	c, err := Parse([]byte(doc), "t.toml", testNets...)
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
		{"chat.timeout (the network's own default)", chat(c).Timeout.Duration, 30 * time.Second},
		{"chat.limits.burst", chat(c).Limits.Burst, 4},
		{"chat.limits.interval", chat(c).Limits.Interval.Duration, 2 * time.Second},
		{"chat.operator (from the store path)", chat(c).Operator, "ksecbot-operator"},
		{"configured networks", c.Configured(), []string{"chat"}},
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

// TestUpstreamVersions: a tree's upstream_versions.
func TestUpstreamVersions(t *testing.T) {
	c := mustParse(t, minimal+"[[tree]]\nname = \"pf-sources\"\npackages = [\"sys-kernel/pf-sources\"]\nupstream_versions = { \"6.12_p5\" = \"6.12.10\" }\n")
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
[chat.limits]
burst = 7
interval = "0s"
`)
	if c.Announce.RemindAfter.Duration != 0 || c.Announce.DigestAfter != 0 || *c.Announce.Changes || c.Announce.Restricted != "skip" {
		t.Errorf("explicit zero values were overridden: %+v", c.Announce)
	}
	if got := c.Announce.RemindGrade["C"].Duration; got != 9*24*time.Hour {
		t.Errorf("remind_grade.C = %v, want 216h", got)
	}
	if l := chat(c).Limits; l.Burst != 7 || l.Interval.Duration != 0 {
		t.Errorf("chat.limits set in the file were overridden by the network's defaults: %+v", l)
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
		// Inside a network's table, as everywhere.
		{"misspelled key", minimal + "[chat.limits]\nburts = 3\n", "chat.limits.burts", n + 2, `unknown key (did you mean "burst"?)`},
		{"unknown key in array entry", minimal + "[[chat.channel]]\nname = \"#d\"\nprivat = true\n", "chat.channel[2].privat", n + 3, `unknown key (did you mean "private"?)`},
		{"unknown table", minimal + "[chatt]\nx = 1\n", "chatt", n + 1, `unknown table (did you mean "chat"?)`},
		{"unregistered network", minimal + "[irc]\nnick = \"bot\"\n", "irc", n + 1, "unknown table"},
		{"chanels", strings.Replace(minimal, "[[chat.channel]]", "[[chat.chanels]]", 1), "chat.chanels[1]", 6, `unknown table (did you mean "channel"?)`},
		{"wrong type", strings.Replace(minimal, `nick = "bot"`, "nick = 5", 1), "chat.nick", 5, "expected a string, got a TOML integer"},
		{"wrong type bool", minimal + "[[chat.channel]]\nname = \"#d\"\nprivate = \"yes\"\n", "chat.channel[2].private", n + 3, "expected a boolean"},
		{"string for a network table", "chat = \"x\"\n[bugzilla]\nurl = \"https://b.example.org\"\n", "chat", 1, "expected a table, got a TOML string"},
		{"wrong type array", minimal + "[[tree]]\nname = \"x\"\naliases = \"y\"\n", "tree[1].aliases", n + 3, "expected an array of strings"},
		{"network tree key type", minimal + "[[tree]]\nname = \"x\"\nchat = \"y\"\n", "tree[1].chat", n + 3, "expected an array of strings"},
		{"bad duration", minimal + "[announce]\nremind_after = \"4 hours\"\n", "announce.remind_after", n + 2, `invalid duration "4 hours"`},
		{"bad network duration", minimal + "[chat.limits]\ninterval = \"2 s\"\n", "chat.limits.interval", n + 2, `invalid duration "2 s"`},
		{"integer network duration", strings.Replace(minimal, `nick = "bot"`, "nick = \"bot\"\ntimeout = 30", 1), "chat.timeout", 6, `expected a duration string such as "90s", got a TOML integer`},
		{"zero network duration", strings.Replace(minimal, `nick = "bot"`, "nick = \"bot\"\ntimeout = \"0s\"", 1), "chat.timeout", 6, "must be longer than 0"},
		{"short retention", minimal + "[store]\nretention = \"1h\"\n", "store.retention", n + 2, `must be 0 (keep everything) or at least 1d`},
		{"integer duration", strings.Replace(minimal, "[chat]", "poll_interval = 60\n[chat]", 1), "bugzilla.poll_interval", 3, `expected a duration string such as "90s", got a TOML integer`},
		{"negative duration", minimal + "[chat.limits]\ninterval = \"-2s\"\n", "chat.limits.interval", n + 2, "negative"},
		{"zero poll", strings.Replace(minimal, "[chat]", "poll_interval = \"0s\"\n[chat]", 1), "bugzilla.poll_interval", 3, "must be longer than 0"},
		{"missing url", strings.Replace(minimal, "url = \"https://bugs.example.org/\"\n", "", 1), "bugzilla.url", 1, "is required"},
		{"bad url", strings.Replace(minimal, "https://bugs.example.org/", "bugs.example.org", 1), "bugzilla.url", 2, "absolute http:// or https:// URL"},
		{"bad public url", strings.Replace(minimal, "[chat]", "public_url = \"ftp://x\"\n[chat]", 1), "bugzilla.public_url", 3, "absolute http"},
		{"api key twice", strings.Replace(minimal, "[chat]", "api_key_file = \"/k\"\napi_key_env = \"K\"\n[chat]", 1), "bugzilla.api_key_env", 4, "not both"},
		{"network secret twice", strings.Replace(minimal, `nick = "bot"`, "nick = \"bot\"\npassword_file = \"/p\"\npassword_env = \"P\"", 1), "chat.password_env", 7, "not both"},
		{"bad env name", strings.Replace(minimal, `nick = "bot"`, "nick = \"bot\"\npassword_env = \"MY PASS\"", 1), "chat.password_env", 6, "not an environment variable name"},
		{"missing network key", strings.Replace(minimal, "nick = \"bot\"\n", "", 1), "chat.nick", 3, "is required"},
		{"network value", strings.Replace(minimal, "chat.example.org:6697", "chat.example.org", 1), "chat.server", 4, "host:port"},
		{"network array entry", minimal + "[[chat.channel]]\nname = \"gentoo\"\n", "chat.channel[2].name", n + 2, "must start with #"},
		{"network nested table", minimal + "[chat.limits]\nburst = 0\n", "chat.limits.burst", n + 2, "at least 1"},
		{"kernel_cve without path", minimal + "[kernel_cve]\nhighlight = \"all\"\n", "kernel_cve.path", n + 1, "is required"},
		{"kernel_cve bad highlight", minimal + "[kernel_cve]\npath = \"/v\"\nhighlight = \"fixed\"\n", "kernel_cve.highlight", n + 3, `must be "affected" or "all"; got "fixed"`},
		{"kernel_cve misspelled", minimal + "[kernel_cve]\npath = \"/v\"\nhighlite = \"all\"\n", "kernel_cve.highlite", n + 3, "unknown key"},
		{"gentoo empty repo", minimal + "[gentoo]\nrepo = \"\"\n", "gentoo.repo", n + 2, "is required"},
		{"restricted", minimal + "[announce]\nrestricted = \"hide\"\n", "announce.restricted", n + 2, `must be "withhold" or "skip"`},
		{"digest negative", minimal + "[announce]\ndigest_after = -1\n", "announce.digest_after", n + 2, "0 (no digest) or more"},
		{"bad grade", minimal + "[announce.remind_grade]\nZ9 = \"1h\"\n", "announce.remind_grade.Z9", n + 2, "not a whiteboard grade"},
		{"tree without name", minimal + "[[tree]]\npackages = [\"sys-kernel/gentoo-sources\"]\n", "tree[1].name", n + 1, "is required"},
		{"tree twice", minimal + "[[tree]]\nname = \"rt\"\n[[tree]]\nname = \"RT\"\n", "tree[2].name", n + 4, "already used by tree[1].name"},
		{"alias clash", minimal + "[[tree]]\nname = \"a\"\n[[tree]]\nname = \"b\"\naliases = [\"c\",\n  \"a\"]\n", "tree[2].aliases[2]", n + 6, "already used by tree[1].name"},
		{"bad package", minimal + "[[tree]]\nname = \"a\"\npackages = [\"gentoo-sources\"]\n", "tree[1].packages[1]", n + 3, "not a package name"},
		{"bad tree handle", minimal + "[[tree]]\nname = \"a\"\nchat = [\"ok\",\n  \"x y\"]\n", "tree[1].chat[2]", n + 4, `"x y" is not a chat nick`},
		{"bad tree identity", minimal + "[[tree]]\nname = \"a\"\nroom = [\"bob\"]\n", "tree[1].room[1]", n + 3, `"bob" is not a room ID`},
		{"upstream_versions bad value", minimal + "[[tree]]\nname = \"pf\"\nupstream_versions = { \"6.12_p5\" = \"6.12.x\" }\n", "tree[1].upstream_versions", n + 3, `"6.12_p5" = "6.12.x": the value must be an upstream kernel release`},
		{"upstream_versions revision", minimal + "[[tree]]\nname = \"pf\"\nupstream_versions = { \"6.12_p5-r1\" = \"6.12.10\" }\n", "tree[1].upstream_versions", n + 3, "not an ebuild version without revision"},
		{"auto_cc without logins", minimal + "[[tree]]\nname = \"a\"\nauto_cc = true\n", "tree[1].auto_cc", n + 3, "needs at least one login"},
		{"user role", minimal + "[[user]]\nbugzilla = \"a@g.org\"\nchat_account = \"a\"\nroles = [\"root\"]\n", "user[1].roles[1]", n + 4, "security, maintainer or admin"},
		{"user without bugzilla", minimal + "[[user]]\nchat_account = \"a\"\n", "user[1].bugzilla", n + 1, "is required"},
		{"user without identity", minimal + "[[user]]\nbugzilla = \"a@g.org\"\n", "user[1].chat_account", n + 1, "set chat_account or room (or both)"},
		{"user twice", minimal + "[[user]]\nbugzilla = \"a@g.org\"\nchat_account = \"a\"\n[[user]]\nbugzilla = \"b@g.org\"\nchat_account = \"A\"\n", "user[2].chat_account", n + 6, "already linked by user[1]"},
		{"user bad account", minimal + "[[user]]\nbugzilla = \"a@g.org\"\nroom = \"bob\"\n", "user[1].room", n + 3, `"bob" is not a room ID`},
		{"user key of no network", minimal + "[[user]]\nbugzilla = \"a@g.org\"\nirc_account = \"a\"\n", "user[1].irc_account", n + 3, "unknown key"},
		{"log level", minimal + "[log]\nlevel = \"loud\"\n", "log.level", n + 2, "debug, info, warn, error"},
		{"inline table key", minimal + "[log]\nlevel = \"info\"\n[http]\nlisten = \"localhost\"\n", "http.listen", n + 4, "host:port"},
		{"duplicate key", minimal + "[log]\nlevel = \"info\"\nlevel = \"debug\"\n", "log.level", n + 3, "already"},
		{"syntax error", minimal + "[log\n", "", n + 1, "syntax error"},
		{"string for table", minimal + "store = \"x\"\n", "chat.channel[1].store", n + 1, "unknown key"},
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
// reported, in line order, and that a bad key hides no other problem,
// inside a network's table as in the shared ones.
func TestAllProblemsAtOnce(t *testing.T) {
	doc := `[bugzilla]
url = "https://bugs.example.org"
poll_interval = "soon"
page_size = "many"
[chat]
server = "chat.example.org:6697"
nick = "bot"
chanels = ["#a"]
timeout = 5
[[chat.channel]]
name = "#a"
[[chat.channel]]
name = "b"
private = "no"
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
		{"chat.chanels", 8},
		{"chat.timeout", 9},
		{"chat.channel[2].name", 13},
		{"chat.channel[2].private", 14},
		{"user[1].chat_account", 15},
		{"user[1].roles[1]", 17},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("problems:\n%v\ngot  %v\nwant %v", ps, got, want)
	}
	if lines := strings.Count(ps.Error(), "\n") + 1; lines != len(want) {
		t.Errorf("Error() has %d lines, want one per problem:\n%s", lines, ps.Error())
	}
}

// TestRegistrationMistakes: a network list that cannot work (two networks
// of one name, a key that is already taken, a section that is not a
// struct pointer) is reported, not half applied.
func TestRegistrationMistakes(t *testing.T) {
	bad := []struct {
		name string
		net  Network
		msg  string
	}{
		{"same name", Network{Name: "chat"}, "registered twice"},
		{"shared table", Network{Name: "b", Table: "bugzilla", Section: func() Section { return new(chatSection) }}, `key "bugzilla" is taken`},
		{"tree key taken", Network{Name: "b", Tree: &TreeKey{Key: "name"}}, `key "name" is taken`},
		{"user key taken", Network{Name: "b", User: &UserKey{Key: "chat_account"}}, `key "chat_account" is taken`},
		{"section not a pointer", Network{Name: "b", Table: "b", Section: func() Section { return nil }}, "pointer to a struct"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(minimal), "t.toml", append(slices.Clone(testNets), tc.net)...)
			if err == nil || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("Parse = %v, want an error containing %q", err, tc.msg)
			}
		})
	}
}

// TestLookups checks what the core asks by network name: users by
// account (compared as their network says), tree membership by identity
// handles only, a network's admins and operator, its [[user]] key.
func TestLookups(t *testing.T) {
	c := mustParse(t, strings.Replace(minimal, "[[chat.channel]]", "admins = [\"Root\"]\n[[chat.channel]]", 1)+`[[tree]]
name = "gentoo-sources"
aliases = ["gentoo-kernel-bin"]
chat = ["mpagano"]
room = ["@mpagano:example.org"]
[[user]]
bugzilla = "alice@gentoo.org"
chat_account = "alice"
room = "@alice:example.org"
roles = ["security"]
[[user]]
bugzilla = "kernel@gentoo.org"
chat_account = "KernelNick"
roles = ["admin"]
`)
	if tr, ok := c.Tree("Gentoo-Kernel-Bin"); !ok || tr != &c.Trees[0] {
		t.Errorf("Tree(alias) = %v, %v; want a pointer into c.Trees", tr, ok)
	}
	users := []struct{ network, account, want string }{
		{"chat", "alice", "alice@gentoo.org"},
		{"chat", "ALICE", "alice@gentoo.org"}, // the chat network folds case
		{"room", "@alice:example.org", "alice@gentoo.org"},
		{"room", "@Alice:example.org", ""}, // room accounts compare exactly
		{"chat", "kernelnick", "kernel@gentoo.org"},
		{"chat", "*", ""},
		{"chat", "", ""},
		{"room", "alice", ""},
		{"other", "alice", ""},
	}
	for _, tc := range users {
		got := ""
		if u, ok := c.User(tc.network, tc.account); ok {
			got = u.Bugzilla
		}
		if got != tc.want {
			t.Errorf("User(%q, %q) = %q, want %q", tc.network, tc.account, got, tc.want)
		}
	}
	u, _ := c.User("chat", "kernelnick")
	if !u.HasRole(RoleSecurity) || !u.HasRole(RoleMaintainer) {
		t.Errorf("admin implies every role: %+v", u)
	}
	u, _ = c.User("chat", "alice")
	if u.HasRole(RoleMaintainer) || !u.HasRole(RoleSecurity) {
		t.Errorf("alice roles: %+v", u)
	}
	tr := c.Trees[0]
	if !reflect.DeepEqual(tr.Handles, map[string][]string{"chat": {"mpagano"}, "room": {"@mpagano:example.org"}}) {
		t.Errorf("handles = %v", tr.Handles)
	}
	for _, tc := range []struct {
		network, account string
		want             bool
	}{{"room", "@mpagano:example.org", true}, {"chat", "mpagano", false}, {"room", "", false}, {"room", "@other:example.org", false}} {
		if got := tr.Member(tc.network, tc.account); got != tc.want {
			t.Errorf("Member(%q, %q) = %v, want %v (only identity handles make a member)", tc.network, tc.account, got, tc.want)
		}
	}
	if !c.Admin("chat", "root") || c.Admin("room", "Root") || c.Admin("chat", "") || c.Admin("chat", "alice") {
		t.Errorf("Admin: [chat] admins are admins on chat only")
	}
	if got := c.OperatorLogin("chat"); got != "ksecbot-operator" {
		t.Errorf("OperatorLogin(chat) = %q", got)
	}
	if c.AccountKey("chat") != "chat_account" || c.AccountKey("room") != "room" || c.AccountKey("other") != "" {
		t.Errorf("AccountKey: %q %q %q", c.AccountKey("chat"), c.AccountKey("room"), c.AccountKey("other"))
	}
	if got := Tables(testNets, "nor"); got != "[chat]" {
		t.Errorf("Tables = %q, want [chat] (room has no table)", got)
	}
}

func TestRunCheck(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.toml")
	if err := os.WriteFile(good, []byte(minimal), 0o600); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.toml")
	doc := strings.Replace(minimal, "[[chat.channel]]", "chanels = [\"#c\"]\n[[chat.channel]]", 1)
	if err := os.WriteFile(bad, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.toml")
	secret := filepath.Join(dir, "secret.toml")
	if err := os.WriteFile(secret, []byte(minimal+"[http]\nwebhook_secret_file = \""+filepath.Join(dir, "nope")+"\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	netSecret := filepath.Join(dir, "netsecret.toml")
	if err := os.WriteFile(netSecret, []byte(strings.Replace(minimal, `nick = "bot"`, "nick = \"bot\"\npassword_file = \"chat.pass\"", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		path    string
		secrets bool
		code    int
		out     string
	}{
		{"good", good, false, 0, good + ": ok"},
		{"misspelled key", bad, false, ExitConfig, bad + `:6: chat.chanels: unknown key (did you mean "channel"?)`},
		{"missing file", missing, false, ExitConfig, "no such file"},
		{"secrets not read", secret, false, 0, "ok"},
		{"secrets read", secret, true, ExitConfig, secret + fmt.Sprintf(":%d: http.webhook_secret_file: secret file %s does not exist", minimalLines+2, filepath.Join(dir, "nope"))},
		{"network secret beside the file", netSecret, true, ExitConfig, netSecret + fmt.Sprintf(":6: chat.password_file: secret file %s does not exist", filepath.Join(dir, "chat.pass"))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out strings.Builder
			if code := RunCheck(&out, tc.path, tc.secrets, testNets...); code != tc.code {
				t.Errorf("exit %d, want %d; output:\n%s", code, tc.code, out.String())
			}
			if !strings.Contains(out.String(), tc.out) {
				t.Errorf("output:\n%s\nwant it to contain %q", out.String(), tc.out)
			}
		})
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
