// SPDX-License-Identifier: GPL-3.0-or-later

package memnet_test

import (
	"testing"

	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/internal/memnet"
	"github.com/ksecbot/ksecbot/internal/transporttest"
)

// TestConformance runs the transport conformance suite against the
// test-only fourth network.
func TestConformance(t *testing.T) {
	transporttest.Run(t, func(t *testing.T) *transporttest.Network {
		srv := memnet.NewServer()
		tr := memnet.New(srv, []chat.Channel{{Name: "#sec", Private: true}, {Name: "#public"}})
		return &transporttest.Network{
			Transport: tr,
			Channel:   tr.Channels()[0],
			User:      chat.Identity{Network: memnet.Name, Account: "alice"},
			Say:       func(text string) bool { return srv.Say("#sec", "alice", "al", text) },
			Seen:      func() []string { return srv.Posted("#sec") },
			Drop:      srv.Drop,
		}
	})
}
