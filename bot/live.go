// SPDX-License-Identifier: GPL-3.0-or-later

package bot

// Live: the configuration in effect, reloaded on SIGHUP.

import (
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"sync/atomic"
	"time"

	"github.com/ksecbot/ksecbot/bugzilla"
	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/commands"
	"github.com/ksecbot/ksecbot/config"
	"github.com/ksecbot/ksecbot/store"
	"github.com/ksecbot/ksecbot/transport"
)

// Live holds the Snapshot of the configuration in effect and replaces it
// as a whole on SIGHUP (Reload). It keeps what outlives a reload: the
// per-sender command limits and previews, and the per-bug write locks.
// Safe for concurrent use.
type Live struct {
	cur        atomic.Pointer[Snapshot]
	store      *store.Store
	bz         *bugzilla.Client
	version    string
	transports []transport.Transport // whose channels are announced to, and reloaded
	log        *slog.Logger
	now        func() time.Time
	// commandMemory outlives reloads: per-sender limits, previews.
	commandMemory *commands.Memory
	// bugLocks outlive reloads: a write to a bug under way when a
	// SIGHUP builds a new router still holds its bug against the new
	// router's writes.
	bugLocks *commands.BugLocks
	// cveStatus outlives reloads: how the kernel CVE watch's scans go.
	cveStatus *CVEStatus
}

// NewLive builds the snapshot of o.Config.
func NewLive(o Options) *Live {
	o = o.WithDefaults()
	s := &Live{store: o.Store, bz: o.Bugzilla, version: o.Version, transports: o.Transports, log: o.Logger, now: o.Now,
		commandMemory: commands.NewMemory(), bugLocks: commands.NewBugLocks(), cveStatus: &CVEStatus{}}
	s.cur.Store(s.build(o.Config))
	return s
}

// Snapshot returns the snapshot in effect now.
func (s *Live) Snapshot() *Snapshot { return s.cur.Load() }

// Config returns the configuration in effect now.
func (s *Live) Config() *config.Config { return s.Snapshot().cfg }

// Router returns the command router of the configuration in effect now.
func (s *Live) Router() *commands.Router { return s.Snapshot().router }

// RenderIntent renders an outbox intent as the configuration in effect
// does (an IntentRenderer): announce.Renderer.Intent, through package
// policy, and no maintainer pinged outside the line's mentions.
func (s *Live) RenderIntent(in store.Intent, bugs map[int]*bugzilla.Bug, ch chat.Channel, now time.Time) (chat.Outgoing, bool) {
	lv := s.Snapshot()
	out, ok := lv.render.Intent(in, bugs, ch, now)
	return lv.Quiet(out), ok
}

// BugLocks returns the per-bug write locks, the same across reloads.
func (s *Live) BugLocks() *commands.BugLocks { return s.bugLocks }

// channels returns every configured channel of every transport.
func (s *Live) channels() []chat.Channel { return channelsOf(s.transports) }

// channelsOf returns every configured channel of ts, as configured now.
func channelsOf(ts []transport.Transport) []chat.Channel {
	var out []chat.Channel
	for _, t := range ts {
		out = append(out, t.Channels()...)
	}
	return out
}

// Reload applies a new configuration without dropping connections: trees,
// users, announce and command settings take effect at once. Settings that
// need a restart (Bugzilla URL and watches, store, servers, channels and
// rooms) are reported in the returned list and keep their old values.
// Safe for concurrent use.
func (s *Live) Reload(cfg *config.Config) (needRestart []string) {
	old := s.Snapshot().cfg
	// The whole [bugzilla] table is kept (the watcher and the client are
	// built once): any change in it, catch_up and public_url included,
	// waits for a restart and is said so.
	if !reflect.DeepEqual(old.Bugzilla, cfg.Bugzilla) {
		needRestart = append(needRestart, "[bugzilla]")
	}
	if fmt.Sprint(old.Watches) != fmt.Sprint(cfg.Watches) {
		needRestart = append(needRestart, "[[watch]]")
	}
	if old.Store.Path != cfg.Store.Path || old.Store.Retention != cfg.Store.Retention {
		needRestart = append(needRestart, "[store]")
	}
	if old.HTTP.Listen != cfg.HTTP.Listen {
		needRestart = append(needRestart, "[http] listen")
	}
	// Keep what cannot change live.
	merged := *cfg
	merged.Bugzilla, merged.Watches, merged.Store = old.Bugzilla, old.Watches, old.Store
	merged.HTTP.Listen = old.HTTP.Listen
	// A network's table takes effect at a restart (its transport was
	// built from it), except the channels and rooms that a transport
	// reloads live: it gets its new section, never the whole file.
	table := func(c *config.Config, name string) string {
		if n, ok := c.Network(name); ok && n.Table != "" {
			return "[" + n.Table + "]"
		}
		return "[" + name + "]"
	}
	for _, t := range s.transports {
		name := t.Network()
		r, ok := t.(transport.ChannelReloader)
		if !ok {
			if o, n := old.Section(name), cfg.Section(name); o != nil && n != nil && !reflect.DeepEqual(o, n) {
				needRestart = append(needRestart, table(cfg, name))
			}
			continue
		}
		restart, err := r.ReloadChannels(cfg.Section(name))
		if err != nil {
			s.log.Error("could not apply the new channels", "network", name, "err", err)
			continue
		}
		if restart {
			needRestart = append(needRestart, table(cfg, name)+" (other than its channels)")
		}
	}
	merged.KeepSections(old)
	oldNets, newNets := old.Configured(), cfg.Configured()
	for _, n := range oldNets {
		if !slices.Contains(newNets, n) {
			needRestart = append(needRestart, table(old, n))
		}
	}
	for _, n := range newNets {
		if !slices.Contains(oldNets, n) {
			needRestart = append(needRestart, table(cfg, n))
		}
	}
	s.cur.Store(s.build(&merged))
	s.log.Info("configuration reloaded", "trees", len(merged.Trees), "users", len(merged.Users))
	return needRestart
}
