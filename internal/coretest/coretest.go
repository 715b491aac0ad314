// SPDX-License-Identifier: GPL-3.0-or-later

// Package coretest wires ksecbot's core for tests as cmd/ksecbot does
// (cmd/ksecbot/wire.go; TestWiringMatchesCoretest keeps the two alike).
package coretest

import (
	"github.com/ksecbot/ksecbot/bot"
)

// Wire builds the core's parts and connects them along the data flow:
//
//	Bugzilla -> Intake (watcher, pushes) -> store -> Announcements, Reminders
//	         -> outbox -> one Deliverer per transport -> the networks
//	networks -> Commands (Dispatcher) -> command router -> Bugzilla
//	Announcements' new bugs -> AutoCC -> Bugzilla
//
// Settings holds what SIGHUP reloads and every part reads it; Wake carries
// the wake-ups between the parts; Guard keeps delivery safe from storage
// faults; Metrics and HTTP show the state.
func Wire(o bot.Options) (*bot.Bot, error) {
	if err := o.Check(); err != nil {
		return nil, err
	}
	o = o.WithDefaults()
	settings := bot.NewSettings(o)
	wake := bot.NewWake()
	notices := bot.NewNotices(o, wake)
	guard := bot.NewStoreGuard(o, settings)
	intake := bot.NewIntake(o, settings, wake, notices)
	metrics := bot.NewMetrics(bot.MetricsSources{Transports: o.Transports, Store: o.Store, Bugzilla: o.Bugzilla, Intake: intake, Guard: guard, Settings: settings})
	b := &bot.Bot{
		Settings:      settings,
		Wake:          wake,
		Intake:        intake,
		Announcements: bot.NewAnnouncements(o, settings, wake),
		Reminders:     bot.NewReminders(o, settings, wake),
		Retention:     bot.NewRetention(o, settings),
		AutoCC:        bot.NewAutoCC(o, settings, wake, notices),
		Guard:         guard,
		Commands:      bot.NewDispatcher(o, settings, metrics),
		Notices:       notices,
		Metrics:       metrics,
		HTTP:          bot.NewHTTP(o, settings, intake, guard, metrics),
		Log:           o.Logger,
	}
	for _, t := range o.Transports {
		b.Deliverers = append(b.Deliverers, bot.NewDeliverer(o, t, settings, wake, guard, metrics))
	}
	return b, nil
}
