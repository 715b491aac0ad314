// SPDX-License-Identifier: GPL-3.0-or-later

package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/ksecbot/ksecbot/bugzilla/bugzillatest"
)

// runCmd runs ksecbot with args and stdin, returning the exit status and
// both outputs.
func runCmd(args []string, stdin string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

// writeFile writes content to dir/name with mode perm and returns the path.
func writeFile(t *testing.T, dir, name, content string, perm os.FileMode) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), perm); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, perm); err != nil { // past the umask
		t.Fatal(err)
	}
	return p
}

// TestExitStatus checks the documented exit statuses that the service
// files rely on: 64 for usage mistakes, 78 for configuration and secret
// problems (the daemon does not start, and is not restarted).
func TestExitStatus(t *testing.T) {
	t.Setenv("KSECBOT_CONFIG", "")
	dir := t.TempDir()
	base := "[bugzilla]\nurl = \"http://127.0.0.1:1/\"\n[store]\npath = \"" + filepath.Join(dir, "k.db") + "\"\n"
	good := writeFile(t, dir, "good.toml", base, 0o600)
	bad := writeFile(t, dir, "bad.toml", base+"[irc]\nnik = \"x\"\n", 0o600)
	noSecret := writeFile(t, dir, "nosecret.toml", base+"[http]\nwebhook_secret_file = \"missing.secret\"\n", 0o600)
	writeFile(t, dir, "open.secret", "s3cret\n", 0o644)
	open := writeFile(t, dir, "open.toml", base+"[http]\nwebhook_secret_file = \"open.secret\"\n", 0o600)
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"unknown flag", []string{"--no-such-flag"}, exitUsage, "see ksecbot --help"},
		{"daemon without config", nil, exitUsage, "--config FILE is required"},
		{"check-config without file", []string{"check-config"}, exitUsage, "exactly one FILE"},
		{"trees with an argument", []string{"trees", "/var/db/repos/gentoo"}, exitUsage, "did you mean --repo"},
		{"a misspelled subcommand", []string{"chek-config", "x.toml"}, exitUsage, `"chek-config" is no subcommand; they are check-config, demo`},
		{"demo with an argument", []string{"demo", "fast"}, exitUsage, `demo takes no argument; got "fast"`},
		{"demo with a zero poll", []string{"demo", "--poll", "0"}, exitUsage, "the poll interval must be longer than 0"},
		{"demo filing every -5s", []string{"demo", "--file-every", "-5s"}, exitUsage, "want 0 (never) or a positive duration"},
		{"demo on a bad address", []string{"demo", "--bugzilla-listen", "nonsense"}, exitUsage, "want host:port"},
		{"bad log level", []string{"--config", good, "--console", "--log-level", "loud"}, exitUsage, "--log-level"},
		{"check-config of a bad file", []string{"check-config", bad}, exitConfig, "irc.nik: unknown key"},
		{"check-config of a missing file", []string{"check-config", filepath.Join(dir, "none.toml")}, exitConfig, "no such file"},
		{"check-config --secrets (old scripts), secret missing", []string{"check-config", "--secrets", noSecret}, exitConfig, "missing.secret does not exist"},
		{"check-config, secret missing", []string{"check-config", noSecret}, exitConfig, "missing.secret does not exist"},
		{"check-config, world-readable secret", []string{"check-config", "--console", open}, exitConfig, "run chmod 600 " + filepath.Join(dir, "open.secret")},
		{"check-config, bad log level", []string{"check-config", "--log-level", "loud", good}, exitUsage, "--log-level"},
		{"daemon, bad file", []string{"--config", bad}, exitConfig, "irc.nik: unknown key"},
		{"daemon, secret missing", []string{"--config", noSecret, "--console"}, exitConfig, "missing.secret does not exist"},
		{"daemon, no irc or matrix", []string{"--config", good}, exitConfig, "neither [irc] nor [matrix]"},
		{"daemon, world-readable secret", []string{"--config", open, "--console"}, exitConfig, "--allow-insecure-secrets"},
		{"ingest-mail, bad file", []string{"ingest-mail", "--config", bad}, exitConfig, "irc.nik"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCmd(tc.args, "")
			if code != tc.code || !strings.Contains(stdout+stderr, tc.want) {
				t.Errorf("ksecbot %q: exit %d, want %d and %q in the output; stdout:\n%s\nstderr:\n%s", tc.args, code, tc.code, tc.want, stdout, stderr)
			}
		})
	}
	// --allow-insecure-secrets makes it a warning, for both.
	if code, stdout, _ := runCmd([]string{"check-config", "--console", "--allow-insecure-secrets", open}, ""); code != 0 || !strings.Contains(stdout, "warning: secret file "+filepath.Join(dir, "open.secret")+" has mode 0644") {
		t.Errorf("check-config --allow-insecure-secrets of a world-readable secret: exit %d, want 0 and a warning:\n%s", code, stdout)
	}
}

// TestHelp checks that every --help goes to stdout with exit 0 and shows a
// real usage, including `trees --help`.
func TestHelp(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"--help"}, []string{"Usage:", "--config", "check-config", "demo", "ingest-mail", "trees", "cve --config FILE --tree NAME", "version", "--allow-insecure-secrets", "\n  0   ok", "\n  1   ", "\n  64  ", "\n  65  ", "\n  75  ", "\n  78  "}},
		{[]string{"check-config", "--help"}, []string{"Usage: ksecbot check-config", "--no-secrets", "--console", "--allow-insecure-secrets"}},
		{[]string{"ingest-mail", "--help"}, []string{"Usage: ksecbot ingest-mail", "--dry-run", "--url"}},
		{[]string{"trees", "--help"}, []string{"Usage: ksecbot trees [--repo PATH]", "metadata.xml", "--repo"}},
		{[]string{"demo", "--help"}, []string{"Usage: ksecbot demo", "--file-every"}},
	} {
		code, stdout, stderr := runCmd(tc.args, "")
		if code != 0 || stderr != "" {
			t.Errorf("ksecbot %q: exit %d, stderr %q; want 0 and nothing on stderr", tc.args, code, stderr)
		}
		for _, w := range tc.want {
			if !strings.Contains(stdout, w) {
				t.Errorf("ksecbot %q: stdout lacks %q:\n%s", tc.args, w, stdout)
			}
		}
	}
}

// untouchable is a stdin that fails the test when read.
type untouchable struct {
	t    *testing.T
	read atomic.Bool
}

func (u *untouchable) Read([]byte) (int, error) {
	u.read.Store(true)
	return 0, fmt.Errorf("stdin must not be read")
}

// TestIngestMailConfigFirst checks that every configuration mistake is
// reported before the mail is read, so `ksecbot ingest-mail --config F
// </dev/null` tests a mail filter's set-up.
func TestIngestMailConfigFirst(t *testing.T) {
	t.Setenv("KSECBOT_CONFIG", "")
	dir := t.TempDir()
	base := "[bugzilla]\nurl = \"http://127.0.0.1:1/\"\n"
	bad := writeFile(t, dir, "bad.toml", base+"[http]\nlisten = \"127.0.0.1\"\n", 0o600)
	noListen := writeFile(t, dir, "nolisten.toml", base+"[http]\nwebhook_secret_file = \"w.secret\"\n", 0o600)
	noSecret := writeFile(t, dir, "nosecret.toml", base+"[http]\nlisten = \"127.0.0.1:9\"\n", 0o600)
	missing := writeFile(t, dir, "missing.toml", base+"[http]\nlisten = \"127.0.0.1:9\"\nwebhook_secret_file = \"w.secret\"\n", 0o600)
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no config", nil, exitUsage, "needs --config FILE"},
		{"config does not exist", []string{"--config", filepath.Join(dir, "none.toml")}, exitConfig, "none.toml"},
		{"invalid config", []string{"--config", bad}, exitConfig, "http.listen"},
		{"no listen", []string{"--config", noListen}, exitConfig, "[http] listen is not set"},
		{"no webhook secret", []string{"--config", noSecret}, exitConfig, "webhook_secret_file is not set"},
		{"webhook secret file missing", []string{"--config", missing}, exitConfig, filepath.Join(dir, "w.secret") + " does not exist"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := &untouchable{t: t}
			var out, errb bytes.Buffer
			code := run(append([]string{"ingest-mail"}, tc.args...), in, &out, &errb)
			if code != tc.code || !strings.Contains(errb.String(), tc.want) {
				t.Errorf("exit %d, want %d and %q; stderr:\n%s", code, tc.code, tc.want, errb.String())
			}
			if in.read.Load() {
				t.Error("stdin was read before the configuration error was reported")
			}
		})
	}
}

// TestIngestMailOnlyWebhookSecret pushes a mail with a configuration whose
// other secrets (Bugzilla key, IRC password, Matrix token) are all missing:
// ingest-mail needs and reads only the webhook secret.
func TestIngestMailOnlyWebhookSecret(t *testing.T) {
	d := startDaemon(t)
	id := d.bz.CreateBug(bugzillatest.NewBug{Summary: "sys-kernel/hardened-sources: only the webhook secret"})
	cfg, err := os.ReadFile(d.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	doc := strings.Replace(string(cfg), "poll_interval = \"1h\"", "poll_interval = \"1h\"\napi_key_file = \"/nonexistent/bugzilla.key\"", 1) + `
[irc]
server = "irc.example.org:6697"
tls = true
nick = "bot"
sasl_password_env = "KSECBOT_TEST_UNSET_IRC_PASSWORD"
[[irc.channel]]
name = "#c"

[matrix]
homeserver = "https://matrix.example.org"
user_id = "@bot:example.org"
access_token_file = "/nonexistent/matrix.token"
`
	path := writeFile(t, d.dir, "others-missing.toml", doc, 0o600)
	if code, stdout, _ := runCmd([]string{"check-config", "--secrets", path}, ""); code != exitConfig || !strings.Contains(stdout, "matrix.token does not exist") {
		t.Fatalf("check-config --secrets should fail on the missing secrets (exit %d), or this test proves nothing:\n%s", code, stdout)
	}
	mail := readMail(t, "01-new-kernel.eml")
	code, stdout, stderr := ingest([]string{"--config", path}, mail)
	if code != 0 || !strings.Contains(stdout, "pushed bug 1") {
		t.Fatalf("exit %d, stdout %q, stderr %q; want the push to work with only the webhook secret", code, stdout, stderr)
	}
	waitUntil(t, "the announcement", func() bool { return strings.Contains(d.out.String(), "only the webhook secret") })
	if requestsFor(d.bz, id) == 0 {
		t.Errorf("the daemon never read bug %d", id)
	}
}

// controlRE matches what must never reach a terminal from hostile input.
var controlRE = regexp.MustCompile("[\x00-\x08\x0b-\x1f\x7f\u0080-\u009f\u202a-\u202e\u2066-\u2069]")

// TestIngestMailEscapes feeds hostile bytes through every message that
// quotes the mail, the daemon's answer or the configuration: each comes out
// with its control bytes escaped.
func TestIngestMailEscapes(t *testing.T) {
	t.Setenv("KSECBOT_CONFIG", "")
	dir := t.TempDir()
	writeFile(t, dir, "w.secret", "s\n", 0o600)
	hostileAnswer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no\x1b]0;owned\x07 \x1b[2J\u009b31m", http.StatusInternalServerError)
	}))
	t.Cleanup(hostileAnswer.Close)
	cfg := writeFile(t, dir, "k.toml", "[bugzilla]\nurl = \"http://127.0.0.1:1/\"\n[http]\nlisten = \"127.0.0.1:9\"\nwebhook_secret_file = \"w.secret\"\n", 0o600)
	badCfg := writeFile(t, dir, "bad.toml", "[bugzilla]\nurl = \"http://127.0.0.1:1/\"\n[irc]\n\"ni\\u001b[31mck\" = \"x\"\n", 0o600)
	mail := string(readMail(t, "01-new-kernel.eml"))
	for _, tc := range []struct {
		name, mail string
		args       []string
		want       string
	}{
		{"header line", "From: a@example.org\n\x1b]0;title\x07 no colon\n\n", []string{"--config", cfg}, `\x1b]0;title\x07`},
		{"unwatched product", strings.Replace(mail, "X-Bugzilla-Product: Gentoo Security", "X-Bugzilla-Product: Gentoo\x1b[2J Security\u009b", 1), []string{"--config", cfg}, `\x1b[2J`},
		{"dry run", strings.Replace(mail, "X-Bugzilla-Type: new", "X-Bugzilla-Type: new\x1b[5m\x7f", 1), []string{"--dry-run"}, `new\x1b[5m\x7f`},
		{"daemon answer", mail, []string{"--config", cfg, "--url", hostileAnswer.URL}, `\x1b]0;owned\x07`},
		{"config", mail, []string{"--config", badCfg}, `\x1b[31m`},
		{"invalid UTF-8 and bidi", strings.Replace(mail, "X-Bugzilla-Product: Gentoo Security", "X-Bugzilla-Product: \xff\u202e", 1), []string{"--config", cfg}, `\xff\u202e`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := ingest(tc.args, []byte(tc.mail))
			all := stdout + stderr
			if controlRE.MatchString(all) || !strings.Contains(all, tc.want) {
				t.Errorf("exit %d: output has raw control bytes or lacks the escaped %q:\nstdout %q\nstderr %q", code, tc.want, stdout, stderr)
			}
		})
	}
}

// TestManPageDocumentsEveryFlag reads contrib/man/ksecbot.1 and checks that
// every flag each subcommand's --help lists is documented there, and that
// EXIT STATUS lists the statuses main returns.
func TestManPageDocumentsEveryFlag(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "contrib", "man", "ksecbot.1"))
	if err != nil {
		t.Fatal(err)
	}
	man := string(data)
	flagRE := regexp.MustCompile(`--[a-z][a-z-]+`)
	for _, sub := range [][]string{nil, {"check-config"}, {"ingest-mail"}, {"trees"}, {"demo"}, {"cve"}} {
		_, stdout, _ := runCmd(append(sub, "--help"), "")
		for _, f := range flagRE.FindAllString(stdout, -1) {
			if f == "--help" {
				continue
			}
			if roff := strings.ReplaceAll(f, "-", `\-`); !strings.Contains(man, roff) {
				t.Errorf("ksecbot %v --help lists %s, the man page does not (as %s)", sub, f, roff)
			}
		}
	}
	_, section, ok := strings.Cut(man, "\n.SH \"EXIT STATUS\"\n")
	if !ok {
		t.Fatal(`the man page has no .SH "EXIT STATUS"`)
	}
	section, _, _ = strings.Cut(section, "\n.SH ")
	for _, code := range []int{exitOK, exitFailure, exitUsage, exitConfig, ExitCorrupt, ExitVanished} {
		if !strings.Contains(section, fmt.Sprintf("\n.B %d\n", code)) {
			t.Errorf("EXIT STATUS does not list %d", code)
		}
	}
}

// TestDaemonLogsItsShutdown runs the daemon (console only) and stops it as
// SIGTERM would: the log ends with a shutdown line.
func TestDaemonLogsItsShutdown(t *testing.T) {
	bz := bugzillatest.New()
	t.Cleanup(bz.Close)
	dir := t.TempDir()
	cfg := writeFile(t, dir, "k.toml", fmt.Sprintf("[bugzilla]\nurl = %q\npoll_interval = \"1h\"\n[store]\npath = %q\n", bz.URL(), filepath.Join(dir, "k.db")), 0o600)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	in, typed := io.Pipe()
	defer typed.Close()
	out, errb := &syncBuffer{}, &syncBuffer{}
	done := make(chan error, 1)
	go func() { done <- runDaemon(ctx, []string{"--config", cfg, "--console"}, in, out, errb) }()
	waitUntil(t, "the start line", func() bool { return strings.Contains(errb.String(), "ksecbot starting") })
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("daemon: %v", err)
	}
	if !strings.Contains(errb.String(), "level=INFO msg=\"ksecbot stopped\" failed=false") {
		t.Errorf("no shutdown line in the log:\n%s", errb.String())
	}
}

// TestConsoleSurvivesAHugeLine types a line of 66,000 bytes into the
// demo's console: it gets a reply with the right numbers, and the next
// command is answered.
func TestConsoleSurvivesAHugeLine(t *testing.T) {
	d := startDemo(t, "--poll", "1h", "--file-every", "0")
	waitOutput(t, d.out, `Ctrl-C ends the demo`)
	// Typed from another goroutine: a console that stopped reading
	// must fail the test, not block it.
	go func() {
		_, _ = io.WriteString(d.typed, "!bug "+strings.Repeat("x", 66000-len("!bug "))+"\n")
		_, _ = io.WriteString(d.typed, "!help\n")
	}()
	waitOutput(t, d.out, `That line has 66000 bytes, more than a command may have \(65536 bytes, 64 KiB\); it was ignored`)
	waitOutput(t, d.out, `Commands: .*!pending`)
	d.end(t)
}
