// SPDX-License-Identifier: GPL-3.0-or-later

package main

import (
	"context"
	"embed"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/ksecbot/ksecbot/bot"
	"github.com/ksecbot/ksecbot/bugzilla/bugzillatest"
	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/config"
	"github.com/ksecbot/ksecbot/transport"
)

//go:embed demo.toml
var demoConfig []byte

// demoData is what the demo's CVE answers come from: real kernel CNA
// records (vulns/, copies of some in kernelcve/testdata) and a slice of
// the Gentoo repository with each demo tree's ebuilds (repo/).
//
//go:embed demodata
var demoData embed.FS

// heldBack is a kernel CNA record the demo publishes after publishAfter,
// as a git pull of the records would, for the CVE watch to announce.
const heldBack = "vulns/cve/published/2026/CVE-2026-23352"

// publishAfter is when the held back record is published (a variable for
// tests).
var publishAfter = 30 * time.Second

// runDemo is `ksecbot demo`: an embedded Bugzilla seeded with realistic
// kernel security bugs (filing a new one now and then), real kernel CVE
// records and a Gentoo repository slice (one more record published after
// publishAfter), a temporary store, and the console as a private channel.
// It ends when the input ends or on a signal.
func runDemo(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := pflag.NewFlagSet("demo", pflag.ContinueOnError)
	every := fs.Duration("file-every", 20*time.Second, "file a new bug this often, and publish one more kernel CVE record after 30s (0: never)")
	poll := fs.Duration("poll", 2*time.Second, "Bugzilla poll interval")
	listen := fs.String("bugzilla-listen", "127.0.0.1:0", "address of the embedded Bugzilla")
	logLevel := fs.String("log-level", "warn", "log level (logs go to stderr)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: ksecbot demo [flags]\n\nRuns ksecbot against an embedded Bugzilla, real kernel CVE records and a\nslice of the Gentoo repository, with the terminal as a private channel.\nType !help, !pending, !bug 3, !claim 3, !cc hardened 3, !cve 3, !exposure.\nThe end of the input (Ctrl-D) or Ctrl-C ends it.\n\n%s", fs.FlagUsages())
	}
	if err := parseFlags(fs, args, stdout, stderr); err != nil {
		return err
	}
	switch {
	case fs.NArg() > 0:
		return fmt.Errorf("%w: demo takes no argument; got %q (see ksecbot demo --help)", errUsage, fs.Arg(0))
	case *poll <= 0:
		return fmt.Errorf("%w: --poll %s: the poll interval must be longer than 0, e.g. 2s", errUsage, *poll)
	case *every < 0:
		return fmt.Errorf("%w: --file-every %s: want 0 (never) or a positive duration, e.g. 20s", errUsage, *every)
	}
	if _, _, err := net.SplitHostPort(*listen); err != nil {
		return fmt.Errorf("%w: --bugzilla-listen %q: want host:port, e.g. 127.0.0.1:8080 (port 0: any free one)", errUsage, *listen)
	}
	log, err := newLogger(stderr, *logLevel, "text")
	if err != nil {
		return err
	}

	// The embedded Bugzilla: the same test server the tests use.
	bz := bugzillatest.NewHandler()
	start := time.Now()
	bugzillatest.SeedDemo(bz, start)
	// The bot may see restricted bugs, as on a real tracker where its
	// account is in the security group; the console is a private channel.
	bz.AddUser(bugzillatest.User{Login: "ksecbot@gentoo.org", RealName: "ksecbot", APIKey: "key-ksecbot", Groups: []string{"editbugs", "security"}})
	bz.AddUser(bugzillatest.User{Login: "you@gentoo.org", RealName: "You (demo operator)", APIKey: "key-you", Groups: []string{"editbugs"}})
	for _, l := range []string{"kernel-security@gentoo.org", "arm@gentoo.org", "mips@gentoo.org"} {
		bz.AddUser(bugzillatest.User{Login: l, RealName: l})
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("demo: cannot listen for the embedded Bugzilla: %w", err)
	}
	srv := &http.Server{Handler: bz.Handler(), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	bzURL := "http://" + ln.Addr().String() + "/"

	dir, err := os.MkdirTemp("", "ksecbot-demo-")
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	defer os.RemoveAll(dir)

	if err := unpackDemoData(dir); err != nil {
		return fmt.Errorf("demo: cannot unpack its kernel CVE records and ebuilds into %s: %w", dir, err)
	}
	cfg, err := config.Parse(demoConfig, "demo.toml", netConfigs()...)
	if err != nil {
		return fmt.Errorf("demo: built-in config: %w", err)
	}
	cfg.KernelCVE.Path = filepath.Join(dir, "vulns")
	cfg.Gentoo.Repo = filepath.Join(dir, "repo")
	cfg.Bugzilla.URL = bzURL
	cfg.Bugzilla.PublicURL = bzURL
	cfg.Bugzilla.APIKey = config.Secret("key-ksecbot")
	cfg.Bugzilla.PollInterval = config.Duration{Duration: *poll}
	cfg.Store.Path = filepath.Join(dir, "ksecbot.db")

	filing, publishing := "no new bug is filed (--file-every 0)", "no record is published (--file-every 0)"
	if *every > 0 {
		filing = fmt.Sprintf("a new one is filed every %s", *every)
		publishing = fmt.Sprintf("one more is published after %s, for the CVE watch", publishAfter)
	}
	fmt.Fprintf(stdout, `ksecbot demo %s
Embedded Bugzilla: %s with %d kernel security bugs; %s.
Kernel CVE data: %d real kernel CNA records and the ebuilds of %d kernel packages; %s.
This terminal is a private channel. Try: !help  !pending  !bug 3  !claim 3  !cc hardened 3  !cve 3  !exposure  !trees  !whoami
The end of the input (Ctrl-D) or Ctrl-C ends the demo.

`, Version(), bzURL, len(bz.BugIDs()), filing, countFiles(dir, "vulns", ".json"), countDirs(dir, "repo/sys-kernel"), publishing)

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go fileBugs(ctx, bz, *every)
	if *every > 0 {
		go publishRecord(ctx, dir, log)
	}
	// The console only ([console] private = true in demo.toml), through
	// the same network list as the daemon; the end of its input ends the
	// demo once what was typed is answered.
	open := make(chan struct{})
	env := transport.Env{Stdin: gatedReader{stdin, open}, Stdout: stdout, Requested: map[string]bool{chat.NetConsole: true}, InputEnded: cancel}
	return serve(ctx, cfg, log, networks, env, func(b *bot.Bot) { go openWhenReady(ctx, b, open) })
}

// gatedReader holds reads until open is closed, so that commands typed
// (or piped) at once are answered from a mirror and a CVE watch that have
// their first data.
type gatedReader struct {
	r    io.Reader
	open <-chan struct{}
}

func (g gatedReader) Read(p []byte) (int, error) {
	<-g.open
	return g.r.Read(p)
}

// readyWait bounds how long typed commands wait for the first Bugzilla
// poll and the first scan of the kernel CVE records.
const readyWait = 15 * time.Second

// openWhenReady closes open once the bot has polled Bugzilla and scanned
// the kernel CVE records once, or after readyWait. Neither tells when it
// is done, so it looks every 25 ms.
func openWhenReady(ctx context.Context, b *bot.Bot, open chan<- struct{}) {
	defer close(open)
	deadline := time.Now().Add(readyWait)
	tick := time.NewTicker(25 * time.Millisecond)
	defer tick.Stop()
	for time.Now().Before(deadline) {
		if b.Intake.Watcher().Stats().Polls >= 1 && b.CVEWatch.Scans() >= 1 {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// unpackDemoData writes demoData (but the held back record) under dir.
func unpackDemoData(dir string) error {
	return fs.WalkDir(demoData, "demodata", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel := strings.TrimPrefix(strings.TrimPrefix(p, "demodata"), "/")
		if d.IsDir() {
			if rel == "vulns/cve" { // no record is rejected, but a clone has the folder
				if err := os.MkdirAll(filepath.Join(dir, rel, "rejected"), 0o755); err != nil {
					return err
				}
			}
			return os.MkdirAll(filepath.Join(dir, rel), 0o755)
		}
		if strings.HasPrefix(rel, heldBack+".") {
			return nil
		}
		data, err := demoData.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, rel), data, 0o644)
	})
}

// publishRecord adds the held back record to the demo's records after
// publishAfter, as a pull would: the .dyad first, then the record.
func publishRecord(ctx context.Context, dir string, log interface{ Warn(string, ...any) }) {
	select {
	case <-ctx.Done():
		return
	case <-time.After(publishAfter):
	}
	for _, ext := range []string{".dyad", ".json"} {
		data, err := demoData.ReadFile("demodata/" + heldBack + ext)
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, heldBack+ext), data, 0o644)
		}
		if err != nil {
			log.Warn("demo: cannot publish a kernel CVE record", "err", err)
			return
		}
	}
}

// countFiles counts the files under dir/sub whose names end with ext.
func countFiles(dir, sub, ext string) int {
	n := 0
	_ = filepath.WalkDir(filepath.Join(dir, sub), func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(d.Name(), ext) {
			n++
		}
		return nil
	})
	return n
}

// countDirs counts the folders in dir/sub.
func countDirs(dir, sub string) int {
	es, _ := os.ReadDir(filepath.Join(dir, sub))
	n := 0
	for _, e := range es {
		if e.IsDir() {
			n++
		}
	}
	return n
}

// fileBugs files two bugs shortly after start (so the first announcements
// come within seconds) and then one every interval; every <= 0 means never.
func fileBugs(ctx context.Context, bz *bugzillatest.Server, every time.Duration) {
	if every <= 0 {
		return
	}
	n := 0
	file := func() {
		bz.CreateBug(bugzillatest.DemoBug(n))
		n++
	}
	for _, d := range []time.Duration{4 * time.Second, time.Second} {
		select {
		case <-ctx.Done():
			return
		case <-time.After(d):
			file()
		}
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			file()
		}
	}
}
