// SPDX-License-Identifier: GPL-3.0-or-later

package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ksecbot/ksecbot/bugzilla/bugzillatest"
	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/config"
	"github.com/ksecbot/ksecbot/internal/memnet"
	"github.com/ksecbot/ksecbot/transport"
)

// A fourth network needs its package and one registration line: the
// daemon's own serve, given the network list plus memnet's line, runs
// the whole bot on memnet (announcement in a channel, a command answered
// there) with no [irc] or [matrix] table.
func TestNewNetworkNeedsOnlyItsRegistrationLine(t *testing.T) {
	bz := bugzillatest.New()
	t.Cleanup(bz.Close)
	cfg, err := config.Parse([]byte(fmt.Sprintf(`
[bugzilla]
url = %q
poll_interval = "1h"

[[watch]]
product = "Gentoo Security"
component = "Kernel"

[store]
path = %q

[[tree]]
name = "hardened"
packages = ["sys-kernel/hardened-sources"]
`, bz.URL(), filepath.Join(t.TempDir(), "ksecbot.db"))), "memnet.toml")
	if err != nil {
		t.Fatal(err)
	}
	id := bz.CreateBug(bugzillatest.NewBug{Summary: "sys-kernel/hardened-sources: use-after-free in memnet"})

	srv := memnet.NewServer()
	nets := append(slices.Clone(networks), srv.Network(chat.Channel{Name: "#sec", Private: true})) // the registration line
	env := transport.Env{Requested: map[string]bool{memnet.Name: true}}
	if !anyWanted(nets, cfg, env) {
		t.Fatal("memnet requested, but no network is wanted")
	}
	if anyWanted(networks, cfg, env) {
		t.Fatal("a network of the real list is wanted without its table or flag")
	}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), nets, env, nil) }()
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
	waitUntil(t, "the announcement in memnet's #sec", posted(fmt.Sprintf("bug %d", id)))
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
}
