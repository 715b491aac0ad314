// SPDX-License-Identifier: GPL-3.0-or-later

package bot

// Wire builds the core's parts and connects them along the data flow:
//
//	Bugzilla -> Intake (watcher, pushes) -> store -> Announcements, Reminders
//	         -> outbox -> one Deliverer per transport -> the networks
//	networks -> Commands (Dispatcher) -> command router -> Bugzilla
//	Announcements' new bugs -> AutoCC -> Bugzilla
//
// Settings holds what SIGHUP reloads and every part reads it; Wake carries
// the wake-ups between the parts; Guard keeps delivery safe from storage
// faults; Metrics and HTTP show the state. The daemon, the demo and the
// tests all call Wire, so the tests run what the daemon runs.
func Wire(o Options) (*Bot, error) {
	if err := o.Check(); err != nil {
		return nil, err
	}
	o = o.WithDefaults()
	settings := NewSettings(o)
	wake := NewWake()
	notices := NewNotices(o, wake)
	guard := NewStoreGuard(o, settings)
	intake := NewIntake(o, settings, wake, notices)
	networks := NewNetworks(o, notices)
	metrics := NewMetrics(MetricsSources{Transports: o.Transports, Store: o.Store, Bugzilla: o.Bugzilla, Intake: intake, Guard: guard, Settings: settings, Networks: networks, Notices: notices})
	b := &Bot{
		Settings:      settings,
		Wake:          wake,
		Intake:        intake,
		Announcements: NewAnnouncements(o, settings, wake),
		Reminders:     NewReminders(o, settings, wake),
		Retention:     NewRetention(o, settings),
		AutoCC:        NewAutoCC(o, settings, wake, notices),
		CVEWatch:      NewCVEWatch(o, settings, wake),
		Guard:         guard,
		Commands:      NewDispatcher(o, settings, metrics),
		Notices:       notices,
		Networks:      networks,
		Metrics:       metrics,
		HTTP:          NewHTTP(o, settings, intake, guard, networks, metrics),
		Log:           o.Logger,
	}
	b.AutoCC.reconcile = intake.watcher.PokeReconcile
	for _, t := range o.Transports {
		b.Deliverers = append(b.Deliverers, NewDeliverer(o, t, settings, wake, guard, notices, metrics))
	}
	return b, nil
}
