// SPDX-License-Identifier: GPL-3.0-or-later

package bot

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/ksecbot/ksecbot/announce"
	"github.com/ksecbot/ksecbot/bugzilla"
	"github.com/ksecbot/ksecbot/config"
	"github.com/ksecbot/ksecbot/cvereport"
	"github.com/ksecbot/ksecbot/status"
	"github.com/ksecbot/ksecbot/store"
)

// pageConfig is what the HTTP side reads of the configuration in effect:
// the status page switch and the webhook secret, and for the page the
// watches, the renderer (its policy and links) and the kernel CVE data.
// *Snapshot implements it.
type pageConfig interface {
	Config() *config.Config
	Renderer() *announce.Renderer
	CVE() *cvereport.Checker
}

// statusPage builds the status page ([http] status_page) from the mirror,
// the configuration in effect and the health /healthz reports. The page
// itself (package status) judges every bug with the policy as a public
// channel.
func (h *HTTP) statusPage() *status.Handler {
	return &status.Handler{
		Build:   h.statusSnapshot,
		Version: h.store.MirrorVersion,
		Now:     h.now,
		Log:     h.log.With("component", "status page"),
	}
}

// statusSnapshot gathers what the page shows for a window of days.
func (h *HTTP) statusSnapshot(ctx context.Context, days int) (status.Snapshot, error) {
	lv := h.current() // one configuration for the whole page
	cfg, render := lv.Config(), lv.Renderer()
	now := h.now()
	f := store.BugFilter{OpenOnly: true}
	search := url.Values{"query_format": {"advanced"}, "resolution": {"---"}}
	for _, w := range cfg.Watches {
		f.Products = append(f.Products, w.Product)
		f.Components = append(f.Components, w.Component)
		search.Add("product", w.Product)
		search.Add("component", w.Component)
	}
	weeks := (days + 6) / 7
	bugs, err := h.store.BugTimes(ctx, f, now.Add(-time.Duration(weeks)*7*24*time.Hour))
	if err != nil {
		return status.Snapshot{}, fmt.Errorf("status page: %w", err)
	}
	caughtUp := map[int]bool{}
	for _, bt := range bugs {
		if bt.CaughtUp {
			caughtUp[bt.Bug.ID] = true
		}
	}
	in := status.Input{
		Now:       now,
		Days:      days,
		Policy:    render.Policy,
		BugURL:    render.BugURL,
		SearchURL: render.SearchURL(search),
		Bugs:      bugs,
		Unclaimed: func(b *bugzilla.Bug) bool { return unclaimed(ctx, h.store, cfg, b) },
		CatchUp:   func(id int) bool { return caughtUp[id] },
		Health:    h.statusHealth(ctx, lv),
		Exposure:  h.statusExposure(ctx, lv),
	}
	return status.Build(in), nil
}

// statusExposure is a tree's kernel CVE exposure at its newest stable
// version, from what the CVE watch keeps; nil without the watch.
func (h *HTTP) statusExposure(ctx context.Context, lv pageConfig) func(config.Tree) *status.Exposure {
	cve := lv.CVE()
	if cve == nil || lv.Config().KernelCVE.ScanInterval.Duration == 0 {
		return nil
	}
	return func(t config.Tree) *status.Exposure {
		rows, err := h.store.CVEExposureOf(ctx, t.Name)
		if err != nil {
			return &status.Exposure{Note: "the kernel CVE data cannot be read now"}
		}
		ex := cvereport.ExposureFromRows(t.Name, cve.CurrentItems(t), rows)
		v := ex.NewestStable()
		if v == nil {
			note := "no stable version"
			if len(ex.Errors) > 0 {
				note = ex.Errors[0]
			}
			return &status.Exposure{Note: note}
		}
		out := &status.Exposure{Version: v.Name(), Affected: len(v.Affected)}
		if n := len(v.Steps); n > 0 {
			out.FixedBy, out.Fixes = v.Steps[n-1].Version, v.Steps[n-1].Fixes
		}
		if v.Newer != "" {
			out.Note = fmt.Sprintf("~%s in the tree fixes %d of them: stabilise", v.Newer, v.NewerFixes)
		}
		return out
	}
}

// statusHealth is /healthz's view as parts with a state each.
func (h *HTTP) statusHealth(ctx context.Context, lv pageConfig) status.Health {
	var hl status.Health
	downs := h.networks.Problems()
	for _, t := range h.transports {
		p := status.Part{Name: t.Network(), State: status.StateOK, Detail: "connected"}
		if down, _ := h.networks.Down(t.Network()); down {
			// Refused for good (a bad password, a ban): said with the
			// next try, as /healthz says it.
			p.State, p.Detail = status.StateDown, "refused"
			for _, l := range downs {
				if rest, ok := strings.CutPrefix(l, t.Network()+": "); ok {
					p.Detail = rest
				}
			}
		} else if !t.Connected() {
			p.State, p.Detail = status.StateDegraded, "not connected; reconnecting"
		}
		hl.Networks = append(hl.Networks, p)
	}
	hl.Bugzilla = status.Part{Name: "Bugzilla", State: status.StateOK, Detail: "polling."}
	if ps := h.intake.Problems(); len(ps) > 0 {
		hl.Bugzilla.State = status.StateDegraded
		hl.Bugzilla.Detail = strings.Join(trimPrefixes(ps, "bugzilla: "), "; ")
	}
	hl.LastPoll = h.intake.Watcher().Stats().LastSuccess
	hl.Database = status.Part{Name: "Database", State: status.StateOK, Detail: "answering."}
	if err := h.store.Ping(ctx); err != nil {
		hl.Database.State, hl.Database.Detail = status.StateDown, err.Error()
	} else if ps := h.guard.Problems(); len(ps) > 0 {
		hl.Database.State, hl.Database.Detail = status.StateDegraded, strings.Join(ps, "; ")
	}
	hl.KernelCVE, hl.LastCVEScan = h.cvePart(lv)
	return hl
}

// cvePart is the kernel CVE data's part of the health table, nil without
// [kernel_cve]. The page is public: it says that scans fail or records
// cannot be read, and leaves the why (with the clone's path) to /healthz.
func (h *HTTP) cvePart(lv pageConfig) (*status.Part, time.Time) {
	k, cve := lv.Config().KernelCVE, lv.CVE()
	if k == nil || cve == nil {
		return nil, time.Time{}
	}
	p := &status.Part{Name: "Kernel CVE data", State: status.StateOK}
	if k.ScanInterval.Duration == 0 {
		p.Detail = "read for !cve and the announcements; the CVE watch is off (scan_interval = \"0\")."
		if err := cve.Store.Check(); err != nil {
			p.State, p.Detail = status.StateDown, "the kernel CNA's vulns clone cannot be read (ksecbot cve says why)."
		}
		return p, time.Time{}
	}
	s := h.cve.health()
	switch {
	case !s.failSince.IsZero():
		p.State, p.Detail = status.StateDegraded, "scans failing since "+stamp(s.failSince)+" (/healthz says why)."
	case s.baseline:
		p.Detail = "the first scan has been under way since " + stamp(s.scanStart) + "."
	case s.lastSuccess.IsZero():
		p.Detail = "no scan yet."
	default:
		p.Detail = "watching the kernel CNA's vulns clone, rescanned every " + k.ScanInterval.Duration.String() + "."
	}
	switch n := len(s.skipped); {
	case n == 1:
		p.State, p.Detail = status.StateDegraded, p.Detail+" 1 record cannot be read and is left out (/healthz names it)."
	case n > 1:
		p.State, p.Detail = status.StateDegraded, p.Detail+fmt.Sprintf(" %d records cannot be read and are left out (/healthz names them).", n)
	}
	return p, s.lastSuccess
}

func trimPrefixes(l []string, prefix string) []string {
	out := make([]string, len(l))
	for i, s := range l {
		out[i] = strings.TrimPrefix(s, prefix)
	}
	return out
}
