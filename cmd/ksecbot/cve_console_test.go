// SPDX-License-Identifier: GPL-3.0-or-later

package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ksecbot/ksecbot/bot"
	"github.com/ksecbot/ksecbot/bugzilla"
	"github.com/ksecbot/ksecbot/bugzilla/bugzillatest"
	"github.com/ksecbot/ksecbot/config"
	"github.com/ksecbot/ksecbot/store"
	"github.com/ksecbot/ksecbot/transport"
	"github.com/ksecbot/ksecbot/transport/console"
)

// absPath is path made absolute: relative paths in a configuration are
// relative to its folder, a temporary one here.
func absPath(t *testing.T, path string) string {
	t.Helper()
	abs, err := filepath.Abs(path)
	if err != nil {
		t.Fatal(err)
	}
	return abs
}

// TestConsoleKernelCVE runs the bot with the console as its channel, the
// real CNA records and the repository of real ::gentoo ebuilds: a new bug
// with a kernel CVE alias is announced with the fixes and the verdicts,
// the fixed and unaffected trees named as not pinged; !cve typed on the
// console answers with the verdict rows.
func TestConsoleKernelCVE(t *testing.T) {
	bz := bugzillatest.New()
	t.Cleanup(bz.Close)
	dir := t.TempDir()
	path := filepath.Join(dir, "ksecbot.toml")
	toml := fmt.Sprintf(`[bugzilla]
url = %q
poll_interval = "200ms"

[store]
path = %q

[kernel_cve]
path = %q

[gentoo]
repo = %q

[[tree]]
name = "gentoo-kernel"
packages = ["sys-kernel/gentoo-kernel"]
irc = ["gkmaint"]

[[tree]]
name = "vanilla-sources"
packages = ["sys-kernel/vanilla-sources"]
irc = ["vanmaint"]

[[tree]]
name = "gentoo-sources"
packages = ["sys-kernel/gentoo-sources"]
irc = ["gsmaint"]
`, bz.URL(), filepath.Join(dir, "ksecbot.db"), absPath(t, "../../kernelcve/testdata/vulns"), absPath(t, "../../gentoo/testdata/repo"))
	if err := os.WriteFile(path, []byte(toml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path, netConfigs()...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	st, err := store.Open(ctx, cfg.Store.Path)
	if err != nil {
		t.Fatal(err)
	}
	bzc, err := bugzilla.New(bugzilla.Options{BaseURL: cfg.Bugzilla.URL, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	in, typed := io.Pipe()
	out := &syncBuffer{}
	con := console.New(console.Options{In: in, Out: out, Private: true})
	b, err := bot.Wire(bot.Options{Config: cfg, Store: st, Bugzilla: bzc, Transports: []transport.Transport{con},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	t.Cleanup(func() {
		typed.Close()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("bot.Run: %v", err)
		}
		st.Close()
	})
	waitUntil(t, "the baseline poll", func() bool { return b.Intake.Watcher().Stats().Polls >= 1 })

	id := bz.CreateBug(bugzillatest.NewBug{Summary: "kernel: scsi: qla2xxx: double free in bsg_done()", Alias: []string{"CVE-2025-71238"}})
	waitUntil(t, "the announcement", func() bool { return strings.Contains(out.String(), "not pinged:") })
	ann := out.String()
	for _, want := range []string{
		fmt.Sprintf("New kernel security bug %d CVE-2025-71238", id),
		"CVE-2025-71238 fixed in 5.10.251, 6.1.164, 6.6.127, 6.18.13, 7.0",
		"@gentoo-kernel(gkmaint) (affected 5.10.250: fix 5.10.251; newest stable 5.10.250 still affected, fixed in ~5.10.255: stabilise)",
		"not pinged: vanilla-sources fixed, gentoo-sources unaffected",
	} {
		if !strings.Contains(ann, want) {
			t.Errorf("console announcement lacks %q:\n%s", want, ann)
		}
	}
	for _, nick := range []string{"vanmaint", "gsmaint"} {
		if strings.Contains(ann, nick) {
			t.Errorf("console announcement highlights %s, whose tree is not affected", nick)
		}
	}
	if _, err := io.WriteString(typed, "!cve CVE-2026-64108\n"); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the !cve answer", func() bool { return strings.Contains(out.String(), "gentoo-sources | unaffected") })
	for _, want := range []string{"CVE-2026-64108: cifs: Fix busy dentry used after unmounting", "tree | verdict | versions",
		"vanilla-sources | affected | ~7.0: fix 7.0.11", "gentoo-kernel | unaffected | ~5.10.255, 5.10.250: unaffected"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("console lacks %q:\n%s", want, out.String())
		}
	}
}
