// SPDX-License-Identifier: GPL-3.0-or-later

package bot

import (
	"slices"
	"time"

	"github.com/ksecbot/ksecbot/announce"
	"github.com/ksecbot/ksecbot/bugzilla"
	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/commands"
	"github.com/ksecbot/ksecbot/config"
	"github.com/ksecbot/ksecbot/cvereport"
	"github.com/ksecbot/ksecbot/trees"
)

// Snapshot is what the core builds from one configuration: the trees, the
// renderer with its policy, the announcer, the command router, the kernel
// CVE checker and the handles no line may ping. It is immutable; a reload
// builds a new one and Live swaps it in whole, so a part that reads
// several of these reads them of one configuration.
//
// No part holds a Snapshot or Live: Wire hands each part a func that
// returns, at each use, the few things the part declares it uses (an
// interface or a func in the part's own file).
type Snapshot struct {
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

// Config returns the configuration of the snapshot.
func (lv *Snapshot) Config() *config.Config { return lv.cfg }

// Trees returns the tree registry.
func (lv *Snapshot) Trees() *trees.Registry { return lv.trees }

// Renderer returns the renderer and its policy.
func (lv *Snapshot) Renderer() *announce.Renderer { return lv.render }

// Router returns the command router.
func (lv *Snapshot) Router() *commands.Router { return lv.router }

// Announcer returns the announcer.
func (lv *Snapshot) Announcer() *announce.Announcer { return lv.announcer }

// CVE returns the kernel CVE checker, nil without [kernel_cve].
func (lv *Snapshot) CVE() *cvereport.Checker { return lv.cve }

// build makes the snapshot of cfg.
func (s *Live) build(cfg *config.Config) *Snapshot {
	lv := &Snapshot{cfg: cfg, trees: trees.New(cfg.Trees), quiet: maintainers(cfg.Trees)}
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
			deps.CVEWatch = s.cveStatus
		}
	}
	lv.router = commands.New(deps)
	return lv
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

// Quiet marks out as the core sends it: no maintainer may be pinged by
// its text, only by its mentions (chat.Outgoing.Quiet).
func (lv *Snapshot) Quiet(out chat.Outgoing) chat.Outgoing {
	out.Quiet = lv.quiet
	return out
}
