// SPDX-License-Identifier: GPL-3.0-or-later

package bot

// Settings: the part of the core built from the reloadable configuration.

import (
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"sync/atomic"
	"time"

	"github.com/ksecbot/ksecbot/announce"
	"github.com/ksecbot/ksecbot/bugzilla"
	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/commands"
	"github.com/ksecbot/ksecbot/config"
	"github.com/ksecbot/ksecbot/cvereport"
	"github.com/ksecbot/ksecbot/store"
	"github.com/ksecbot/ksecbot/transport"
	"github.com/ksecbot/ksecbot/trees"
)

// Settings holds what the core builds from the reloadable configuration
// (trees, users, announce and command settings: the renderer, the
// announcer and the command router) and replaces it as a whole on SIGHUP
// (Reload). Every other part reads the current state through it. Safe for
// concurrent use.
type Settings struct {
	live       atomic.Pointer[live]
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
}

// live is the configuration-derived state. It is replaced as a whole.
type live struct {
	cfg       *config.Config
	trees     *trees.Registry
	render    *announce.Renderer
	router    *commands.Router
	announcer *announce.Announcer
	cve       *cvereport.Checker // nil without [kernel_cve]
	// quiet holds every tree's maintainers per network: handles no
	// message may ping outside its mentions (chat.Outgoing.Quiet).
	quiet map[string][]string
}

// NewSettings builds the configuration-derived state of o.Config.
func NewSettings(o Options) *Settings {
	o = o.WithDefaults()
	s := &Settings{store: o.Store, bz: o.Bugzilla, version: o.Version, transports: o.Transports, log: o.Logger, now: o.Now,
		commandMemory: commands.NewMemory(), bugLocks: commands.NewBugLocks()}
	s.live.Store(s.build(o.Config))
	return s
}

// l returns the current configuration-derived state.
func (s *Settings) l() *live { return s.live.Load() }

// Config returns the configuration in effect now.
func (s *Settings) Config() *config.Config { return s.l().cfg }

// CVE returns the kernel CVE checker of the configuration in effect now,
// nil without [kernel_cve].
func (s *Settings) CVE() *cvereport.Checker { return s.l().cve }

// Router returns the command router of the configuration in effect now.
func (s *Settings) Router() *commands.Router { return s.l().router }

// BugLocks returns the per-bug write locks, the same across reloads.
func (s *Settings) BugLocks() *commands.BugLocks { return s.bugLocks }

// channels returns every configured channel of every transport.
func (s *Settings) channels() []chat.Channel { return channelsOf(s.transports) }

// channelsOf returns every configured channel of ts, as configured now.
func channelsOf(ts []transport.Transport) []chat.Channel {
	var out []chat.Channel
	for _, t := range ts {
		out = append(out, t.Channels()...)
	}
	return out
}

// build makes the configuration-derived state.
func (s *Settings) build(cfg *config.Config) *live {
	lv := &live{cfg: cfg, trees: trees.New(cfg.Trees), quiet: maintainers(cfg.Trees)}
	pub := cfg.Bugzilla.PublicURL
	if pub == "" {
		pub = cfg.Bugzilla.URL
	}
	lv.render = announce.NewRenderer(pub, lv.trees, cfg.Announce.Restricted)
	cve := cvereport.New(cfg)
	for _, w := range cfg.DataWarnings() {
		s.log.Warn("kernel CVE data", "problem", w.Error())
	}
	if cve != nil {
		lv.cve = cve
		lv.render.CVE = &cvereport.Annotator{Checker: cve, Trees: cfg.Trees, Highlight: cfg.KernelCVE.Highlight}
		lv.render.CVEFeed = &cvereport.Feed{Checker: cve, Trees: cfg.Trees}
	}
	changes := cfg.Announce.Changes == nil || *cfg.Announce.Changes
	lv.announcer = &announce.Announcer{
		Store:        s.store,
		Render:       lv.render,
		Channels:     s.channels,
		DigestAfter:  cfg.Announce.DigestAfter,
		DigestWindow: cfg.Announce.DigestWindow.Duration,
		Changes:      changes,
		AutoCC:       true,
		RemindAfter:  func(bug *bugzilla.Bug) time.Duration { return remindAfter(cfg, bug) },
		Now:          s.now,
		Logger:       s.log.With("component", "announcer"),
	}
	deps := commands.Deps{
		Config:   cfg,
		Store:    s.store,
		Bugzilla: s.bz,
		Trees:    lv.trees,
		Render:   lv.render,
		Now:      s.now,
		Logger:   s.log, // the router adds component=commands itself
		Version:  s.version,
		// !snooze: the store's reminders.
		Reminders: s.store,
		// The same limits and previews for every configuration: a
		// SIGHUP must not give every sender a fresh burst.
		Memory:   s.commandMemory,
		BugLocks: s.bugLocks,
	}
	if cve != nil {
		deps.CVE = cve
		if cfg.KernelCVE.ScanInterval.Duration > 0 {
			deps.Exposure = s.store // the CVE watch keeps it
		}
	}
	lv.router = commands.New(deps)
	return lv
}

// Reload applies a new configuration without dropping connections: trees,
// users, announce and command settings take effect at once. Settings that
// need a restart (Bugzilla URL and watches, store, servers, channels and
// rooms) are reported in the returned list and keep their old values.
// Safe for concurrent use.
func (s *Settings) Reload(cfg *config.Config) (needRestart []string) {
	old := s.l().cfg
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
	s.live.Store(s.build(&merged))
	s.log.Info("configuration reloaded", "trees", len(merged.Trees), "users", len(merged.Users))
	return needRestart
}

// remindAfter returns the reminder delay for a bug: the grade-specific one
// when configured ("A1" before "A"), else the default.
func remindAfter(cfg *config.Config, bug *bugzilla.Bug) time.Duration {
	g := announce.Grade(bug.Whiteboard)
	if g != "" {
		if d, ok := cfg.Announce.RemindGrade[g]; ok {
			return d.Duration
		}
		if d, ok := cfg.Announce.RemindGrade[g[:1]]; ok {
			return d.Duration
		}
	}
	return cfg.Announce.RemindAfter.Duration
}

// maintainers returns the handles of every tree's maintainers, per
// network, each once.
func maintainers(ts []config.Tree) map[string][]string {
	out := map[string][]string{}
	for _, t := range ts {
		for network, hs := range t.Handles {
			for _, h := range hs {
				if !slices.Contains(out[network], h) {
					out[network] = append(out[network], h)
				}
			}
		}
	}
	return out
}

// quietOut marks out as the core sends it: no maintainer may be pinged by
// its text, only by its mentions (chat.Outgoing.Quiet).
func (lv *live) quietOut(out chat.Outgoing) chat.Outgoing {
	out.Quiet = lv.quiet
	return out
}
