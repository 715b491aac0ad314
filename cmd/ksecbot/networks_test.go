// SPDX-License-Identifier: GPL-3.0-or-later

package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ksecbot/ksecbot/bot"
	"github.com/ksecbot/ksecbot/bugzilla/bugzillatest"
	"github.com/ksecbot/ksecbot/config"
	"github.com/ksecbot/ksecbot/internal/memnet"
	"github.com/ksecbot/ksecbot/transport"
)

// A fourth network needs its package and one registration line: with
// memnet's line added to the network list, the configuration file has a
// [memnet] table (decoded into memnet's own type, checked by memnet, its
// problems reported by check-config with their lines like any other), a
// memnet key in [[tree]] and memnet_account in [[user]]; the daemon's own
// serve then runs the whole bot on memnet (an announcement highlighting
// the tree's memnet handles, a command from a linked account answered)
// with no [irc] or [matrix] table, and a reload hands memnet its new
// section (a channel added). Nothing outside internal/memnet knows
// memnet: the same file without the line is refused.
func TestNewNetworkNeedsOnlyItsRegistrationLine(t *testing.T) {
	bz := bugzillatest.New()
	t.Cleanup(bz.Close)
	dir := t.TempDir()
	doc := fmt.Sprintf(`[bugzilla]
url = %q
poll_interval = "1h"

[[watch]]
product = "Gentoo Security"
component = "Kernel"

[store]
path = %q

[memnet]
[[memnet.channel]]
name = "#sec"
private = true

[[tree]]
name = "hardened"
packages = ["sys-kernel/hardened-sources"]
memnet = ["ann", "bo"]

[[user]]
bugzilla = "alice@gentoo.org"
memnet_account = "alice"
roles = ["security"]
`, bz.URL(), filepath.Join(dir, "ksecbot.db"))
	path := filepath.Join(dir, "ksecbot.toml")
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	id := bz.CreateBug(bugzillatest.NewBug{Summary: "sys-kernel/hardened-sources: use-after-free in memnet"})

	srv := memnet.NewServer()
	nets := append(slices.Clone(networks), srv.Network()) // the registration line

	// Without the line, memnet's keys are unknown like any typo.
	var out strings.Builder
	if code := exitStatus(checkConfig(context.Background(), &out, path, config.CheckOptions{}, transport.Configs(networks)...), io.Discard); code != config.ExitConfig ||
		!strings.Contains(out.String(), path+":12: memnet: unknown table") || !strings.Contains(out.String(), "tree[1].memnet: unknown key") ||
		!strings.Contains(out.String(), "user[1].memnet_account: unknown key") {
		t.Errorf("check-config without memnet's line: exit %d\n%s\nwant [memnet], memnet and memnet_account unknown", code, out.String())
	}
	// With it, check-config finds memnet's own problems, each with its line.
	bad := filepath.Join(dir, "bad.toml")
	if err := os.WriteFile(bad, []byte(strings.Replace(doc, `name = "#sec"`, "name = \"sec\"\nprivat = true", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if code := exitStatus(checkConfig(context.Background(), &out, bad, config.CheckOptions{}, transport.Configs(nets)...), io.Discard); code != config.ExitConfig ||
		!strings.Contains(out.String(), bad+`:14: memnet.channel[1].name: "sec" must start with #`) ||
		!strings.Contains(out.String(), bad+`:15: memnet.channel[1].privat: unknown key (did you mean "private"?)`) {
		t.Errorf("check-config of a bad [memnet]: exit %d\n%s", code, out.String())
	}

	cfg, err := config.Load(path, transport.Configs(nets)...)
	if err != nil {
		t.Fatal(err)
	}
	// memnet's table makes a network run: the daemon would start.
	out.Reset()
	if err := checkConfig(context.Background(), &out, path, config.CheckOptions{}, transport.Configs(nets)...); err != nil {
		t.Fatalf("check-config with memnet's line: %v\n%s", err, out.String())
	}
	env := transport.Env{}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	built := make(chan *bot.Bot, 1)
	go func() {
		done <- serve(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), nets, env, func(b *bot.Bot) { built <- b })
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	posted := func(s string) func() bool {
		return func() bool {
			for _, l := range srv.Posted("#sec") {
				if strings.Contains(l, s) {
					return true
				}
			}
			return false
		}
	}
	waitUntil(t, "the announcement in memnet's #sec, highlighting the tree's memnet handles", posted(fmt.Sprintf("bug %d", id)))
	if !posted("@hardened(ann,bo)")() {
		t.Errorf("announcement %q does not highlight the memnet handles of [[tree]] memnet", srv.Posted("#sec"))
	}
	waitUntil(t, "the memnet transport connected", func() bool { return srv.Say("#sec", "alice", "al", fmt.Sprintf("!bug %d", id)) })
	waitUntil(t, "the !bug answer in memnet's #sec", func() bool {
		n := 0
		for _, l := range srv.Posted("#sec") {
			if strings.Contains(l, "use-after-free in memnet") {
				n++
			}
		}
		return n >= 2 // the announcement and the answer
	})
	srv.Say("#sec", "alice", "al", "!whoami")
	waitUntil(t, "!whoami of the memnet_account linked in [[user]]", posted("linked to Bugzilla login alice@gentoo.org; roles: security"))

	// SIGHUP: the new [memnet] section reaches memnet, which joins #dev.
	if err := os.WriteFile(path, []byte(strings.Replace(doc, "[[tree]]", "[[memnet.channel]]\nname = \"#dev\"\n\n[[tree]]", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	next, err := config.Load(path, transport.Configs(nets)...)
	if err != nil {
		t.Fatal(err)
	}
	if restart := (<-built).Live.Reload(next); len(restart) != 0 {
		t.Errorf("a channel added to [memnet] needs a restart: %q", restart)
	}
	waitUntil(t, "a command in #dev, added by the reload", func() bool { return srv.Say("#dev", "alice", "al", fmt.Sprintf("!bug %d", id)) })
	waitUntil(t, "the !bug answer in #dev", func() bool {
		for _, l := range srv.Posted("#dev") {
			if strings.Contains(l, "use-after-free in memnet") {
				return true
			}
		}
		return false
	})
}
