// SPDX-License-Identifier: GPL-3.0-or-later

package config

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
)

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
