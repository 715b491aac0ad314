// SPDX-License-Identifier: GPL-3.0-or-later

package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ksecbot/ksecbot/bugzilla/bugzillatest"
)

// waitOutput waits until the demo printed a line matching re.
func waitOutput(t *testing.T, out *syncBuffer, re string) string {
	t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if m := rx.FindString(out.String()); m != "" {
			return m
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("the demo never printed %q; output:\n%s", re, out.String())
	return ""
}

// demoRun is a demo running in the test, its terminal a pipe and a
// buffer.
type demoRun struct {
	typed  *io.PipeWriter
	out    *syncBuffer
	cancel context.CancelFunc
	done   chan error
}

// startDemo runs `ksecbot demo args...` until the test ends it.
func startDemo(t *testing.T, args ...string) *demoRun {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	in, typed := io.Pipe()
	d := &demoRun{typed: typed, out: &syncBuffer{}, cancel: cancel, done: make(chan error, 1)}
	go func() { d.done <- runDemo(ctx, args, in, d.out, &syncBuffer{}) }()
	t.Cleanup(func() {
		cancel()
		typed.Close()
	})
	return d
}

// end stops the demo as Ctrl-C does: it must end at once, with no error.
func (d *demoRun) end(t *testing.T) {
	t.Helper()
	d.cancel()
	select {
	case err := <-d.done:
		if err != nil {
			t.Errorf("demo ended with %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the demo did not end after Ctrl-C")
	}
}

// TestDemo runs `ksecbot demo` as a newcomer would: announcements with
// highlighted trees arrive, typed commands change the embedded Bugzilla,
// and !cve and !exposure answer from the demo's kernel CVE records and
// ebuilds.
func TestDemo(t *testing.T) {
	d := startDemo(t, "--poll", "300ms", "--file-every", "1h")
	out := d.out

	waitOutput(t, out, `New kernel security bug \d+ .*\| @gentoo-sources\(mpagano,alicef,@mpagano:gentoo.org\)`) // every network's handles
	waitOutput(t, out, `New kernel security bug \d+ .*\| @hardened\(blueness,zorry\)`)
	type step struct{ cmd, want string }
	for _, s := range []step{
		{"!help", `Commands: .*!pending.*!claim`},
		{"!pending", `Bug 3 \(`},
		{"!trees", `trees: gentoo-sources`},
		{"!whoami", `you@gentoo.org`},
		{"!claim 3", `Claimed: bug 3 is now assigned to you@gentoo.org`},
		{"!cc hardened 3", `CC'd on bug 3: hardened@gentoo.org .*@hardened\(blueness,zorry\)`},
		{"!bug 3", `Bug 3 .*assigned to you@gentoo.org, CC .*hardened@gentoo.org`},
		{"!cve 3", `raspberrypi \| affected \| raspberrypi-sources 6\.6\.51: fix 6\.6\.140`},
		{"!exposure", `gentoo-sources \| 9 \| gentoo-sources 6\.12\.58: 9`},
		{"!frobnicate", `Unknown command`},
	} {
		if _, err := io.WriteString(d.typed, s.cmd+"\n"); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s -> %s", s.cmd, waitOutput(t, out, s.want))
	}
	d.end(t)
}

func TestCheckConfig(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"check-config", "--no-secrets", "../../config.sample.toml"}, strings.NewReader(""), &out, &errOut); code != 0 {
		t.Fatalf("check-config config.sample.toml exited %d:\n%s%s", code, out.String(), errOut.String())
	}
	sample, err := os.ReadFile("../../config.sample.toml")
	if err != nil {
		t.Fatal(err)
	}
	bad := strings.Replace(string(sample), "\n[[irc.channel]]", "\n[[irc.chanels]]", 1)
	line := strings.Count(string(sample)[:strings.Index(string(sample), "\n[[irc.channel]]")+1], "\n") + 1
	path := filepath.Join(t.TempDir(), "bad.toml")
	if err := os.WriteFile(path, []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	errOut.Reset()
	if code := run([]string{"check-config", "--no-secrets", path}, strings.NewReader(""), &out, &errOut); code == 0 {
		t.Fatalf("check-config accepted a misspelled key:\n%s", out.String())
	}
	want := regexp.MustCompile(`bad\.toml:` + regexp.QuoteMeta(itoa(line)) + `: irc\.chanels`)
	if !want.MatchString(out.String()) {
		t.Errorf("check-config output does not name irc.chanels and line %d:\n%s", line, out.String())
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestSubcommandAnywhere(t *testing.T) {
	for _, tc := range []struct {
		args     []string
		sub      string
		wantRest string
	}{
		{[]string{"ingest-mail", "--config", "f"}, "ingest-mail", "--config f"},
		{[]string{"--config", "f", "ingest-mail"}, "ingest-mail", "--config f"},
		{[]string{"-c", "f", "check-config"}, "check-config", "-c f"},
		{[]string{"--config", "demo"}, "", "--config demo"}, // a config file named demo
		{[]string{"--config", "f", "--console"}, "", "--config f --console"},
		{[]string{"--version"}, "", "--version"},
	} {
		sub, rest := subcommand(tc.args)
		if sub != tc.sub || strings.Join(rest, " ") != tc.wantRest {
			t.Errorf("subcommand(%q) = %q %q, want %q %q", tc.args, sub, rest, tc.sub, tc.wantRest)
		}
	}
	var out, errOut bytes.Buffer
	if code := run([]string{"--config", "../../config.sample.toml", "check-config", "--no-secrets"}, strings.NewReader(""), &out, &errOut); code != 0 {
		t.Errorf("ksecbot --config SAMPLE check-config exited %d: %s%s", code, out.String(), errOut.String())
	}
}

// TestDemoFileEveryZero checks that `demo --file-every 0` files no bug at
// all (not even the two early ones): fileBugs returns at once and the
// Bugzilla keeps its seed.
func TestDemoFileEveryZero(t *testing.T) {
	bz := bugzillatest.NewHandler()
	bugzillatest.SeedDemo(bz, time.Now())
	before := len(bz.BugIDs())
	fileBugs(context.Background(), bz, 0)
	if n := len(bz.BugIDs()); n != before {
		t.Errorf("--file-every 0 filed %d bug(s), want none", n-before)
	}
}

// TestDemoEndsAtEndOfInput pipes commands into the demo, as
// `printf '!cve 3\n' | ksecbot demo` does: they are answered from the
// first data (not "not scanned yet"), and the end of the input ends the
// demo (Ctrl-D), with status 0.
func TestDemoEndsAtEndOfInput(t *testing.T) {
	var out, errOut syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- runDemo(context.Background(), []string{"--file-every", "0"}, strings.NewReader("!cve CVE-2026-68118\n!exposure rt\n!pending\n"), &out, &errOut)
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("demo: %v", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("the demo did not end at the end of its input; output:\n%s", out.String())
	}
	for _, want := range []string{
		"CVE-2026-68118: tcp: challenge ACK for non-exact RST in SYN-RECEIVED",
		"rt-sources ~6.1.112 | 17 |",
		"Bug 3 (",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the demo's output lacks %q:\n%s", want, out.String())
		}
	}
}

// TestDemoPublishesARecord: the record the demo holds back is published
// (publishAfter, shortened here) and the CVE watch announces it on the
// console, which has cve_feed.
func TestDemoPublishesARecord(t *testing.T) {
	publishAfter = 500 * time.Millisecond
	t.Cleanup(func() { publishAfter = 30 * time.Second })
	d := startDemo(t, "--poll", "1h", "--file-every", "1h")
	t.Logf("%s", waitOutput(t, d.out, `.*CVE-2026-23352.*`))
	d.end(t)
}
