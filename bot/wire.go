// SPDX-License-Identifier: GPL-3.0-or-later

package bot

import (
	"github.com/ksecbot/ksecbot/announce"
	"github.com/ksecbot/ksecbot/config"
)

// Wire builds the core's parts and connects them along the data flow:
//
//	Bugzilla -> Intake (watcher, pushes) -> store -> Announcements, Reminders
//	         -> outbox -> one Deliverer per transport -> the networks
//	networks -> Commands (Dispatcher) -> command router -> Bugzilla
//	Announcements' new bugs -> AutoCC -> Bugzilla
//
// Live holds the snapshot of the configuration in effect (what SIGHUP
// reloads); each part gets from it only what it declares it uses, as a
// func read at each use. Wake carries the wake-ups between the parts;
// Guard keeps delivery safe from storage faults; Metrics and HTTP show
// the state. The daemon, the demo and the tests all call Wire, so the
// tests run what the daemon runs.
func Wire(o Options) (*Bot, error) {
	if err := o.Check(); err != nil {
		return nil, err
	}
	o = o.WithDefaults()
	live := NewLive(o)
	snap := live.Snapshot
	wake := NewWake()
	notices := NewNotices(o, wake)
	guard := NewStoreGuard(o)
	intake := NewIntake(o, wake, notices)
	networks := NewNetworks(o, notices)
	metrics := NewMetrics(MetricsSources{Transports: o.Transports, Store: o.Store, Bugzilla: o.Bugzilla, Intake: intake, Guard: guard,
		Trees: func() []config.Tree { return live.Config().Trees }, Now: o.Now, Networks: networks, Notices: notices, CVE: live.cveStatus})
	b := &Bot{
		Live:          live,
		Wake:          wake,
		Intake:        intake,
		Announcements: NewAnnouncements(o, func() *announce.Announcer { return snap().Announcer() }, wake),
		Reminders:     NewReminders(o, live.Config, live.channels, wake),
		Retention:     NewRetention(o),
		AutoCC:        NewAutoCC(o, func() autoCCConfig { return snap() }, wake, notices),
		CVEWatch:      NewCVEWatch(o, func() cveConfig { return snap() }, live.channels, wake, live.cveStatus),
		Guard:         guard,
		Commands:      NewDispatcher(o, func() commandConfig { return snap() }, metrics),
		Notices:       notices,
		Networks:      networks,
		Metrics:       metrics,
		HTTP:          NewHTTP(o, func() pageConfig { return snap() }, intake, guard, networks, metrics, live.cveStatus),
		Log:           o.Logger,
	}
	b.AutoCC.reconcile = intake.watcher.PokeReconcile
	for _, t := range o.Transports {
		b.Deliverers = append(b.Deliverers, NewDeliverer(o, t, live.RenderIntent, wake, guard, notices, metrics))
	}
	return b, nil
}
