// SPDX-License-Identifier: GPL-3.0-or-later

package main

import (
	"context"
	_ "embed"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/pflag"

	"github.com/ksecbot/ksecbot/bugzilla/bugzillatest"
	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/config"
	"github.com/ksecbot/ksecbot/transport"
)

//go:embed demo.toml
var demoConfig []byte

// runDemo is `ksecbot demo`: an embedded Bugzilla seeded with realistic
// kernel security bugs (filing a new one now and then), a temporary store,
// and the console as a private channel.
func runDemo(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := pflag.NewFlagSet("demo", pflag.ContinueOnError)
	every := fs.Duration("file-every", 20*time.Second, "file a new bug this often (0: never)")
	poll := fs.Duration("poll", 2*time.Second, "Bugzilla poll interval")
	listen := fs.String("bugzilla-listen", "127.0.0.1:0", "address of the embedded Bugzilla")
	logLevel := fs.String("log-level", "warn", "log level (logs go to stderr)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: ksecbot demo [flags]\n\nRuns ksecbot against an embedded Bugzilla with the terminal as a channel.\nType !help, !pending, !bug 3, !claim 3, !cc hardened 3; Ctrl-C ends it.\n\n%s", fs.FlagUsages())
	}
	if err := parseFlags(fs, args, stdout, stderr); err != nil {
		return err
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

	cfg, err := config.Parse(demoConfig, "demo.toml", netConfigs()...)
	if err != nil {
		return fmt.Errorf("demo: built-in config: %w", err)
	}
	cfg.Bugzilla.URL = bzURL
	cfg.Bugzilla.PublicURL = bzURL
	cfg.Bugzilla.APIKey = config.Secret("key-ksecbot")
	cfg.Bugzilla.PollInterval = config.Duration{Duration: *poll}
	cfg.Store.Path = filepath.Join(dir, "ksecbot.db")

	filing := "no new bug is filed (--file-every 0)"
	if *every > 0 {
		filing = fmt.Sprintf("a new one is filed every %s", *every)
	}
	fmt.Fprintf(stdout, `ksecbot demo %s
Embedded Bugzilla: %s (seeded with %d kernel security bugs; %s)
This terminal is a private channel. Try: !help  !pending  !bug 3  !claim 3  !cc hardened 3  !trees  !whoami
Ctrl-C ends the demo.

`, Version(), bzURL, len(bz.BugIDs()), filing)

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go fileBugs(ctx, bz, *every)
	// The console only ([console] private = true in demo.toml), through
	// the same network list as the daemon.
	env := transport.Env{Stdin: stdin, Stdout: stdout, Requested: map[string]bool{chat.NetConsole: true}}
	return serve(ctx, cfg, log, networks, env, nil)
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
