// SPDX-License-Identifier: GPL-3.0-or-later

// The link watchdog: a connection whose lines stay unconfirmed is probed
// with a PING and recycled when the PONG does not come.

package irc

import (
	"fmt"
	"time"
)

// Link watchdog: while lines await confirmation, a link that stays
// silent is probed with a PING and recycled when the PONG does not come.
const (
	silentAfter  = 10 * time.Second
	probeTimeout = 15 * time.Second
)

// watchLink runs for one connection: it returns when s disconnects, and
// closes the socket when the link is found silent.
func (s *session) watchLink() {
	t := s.t
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-s.disc:
			return
		case <-tick.C:
		}
		now := t.opt.Now()
		// A write blocked on a full socket holds wmu: the probe waits,
		// but the deadline of one already sent is checked regardless.
		haveW := t.wmu.TryLock()
		t.mu.Lock()
		if t.gen != s.gen || t.conn == nil {
			t.mu.Unlock()
			if haveW {
				t.wmu.Unlock()
			}
			return
		}
		t.dropFlightsLocked(func(*flight) bool { return false })
		conn := t.conn
		var probe string
		switch {
		case t.probeTok != "" && now.Sub(t.probeAt) > t.opt.ProbeTimeout:
			age := now.Sub(t.probeAt)
			t.mu.Unlock()
			if haveW {
				t.wmu.Unlock()
			}
			t.log.Warn("link silent, reconnecting", "server", t.cfg.Server, "no_pong_for", age.Round(time.Millisecond))
			t.silentDrops.Add(1)
			s.closeSock()
			return
		case haveW && t.probeTok == "" && len(t.inflight) > 0 && now.Sub(t.inflight[0].at) > t.opt.SilentAfter:
			t.wseq++
			probe = fmt.Sprintf("ksp%d", t.wseq)
			t.fences[probe] = t.wseq
			t.probeTok, t.probeAt = probe, now
		}
		t.mu.Unlock()
		if probe != "" {
			t.log.Debug("lines unconfirmed, probing the link", "token", probe)
			if err := conn.Send("PING", probe); err != nil {
				t.log.Debug("probe not written", "err", err)
			}
		}
		if haveW {
			t.wmu.Unlock()
		}
	}
}
