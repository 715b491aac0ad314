// SPDX-License-Identifier: GPL-3.0-or-later

package config

import (
	"strings"
	"time"
)

// Defaults of the keys that have one (see config.sample.toml).
const (
	DefaultPollInterval = 60 * time.Second
	DefaultTimeout      = 30 * time.Second
	DefaultOverlap      = 2 * time.Minute
	DefaultCatchUp      = 24 * time.Hour
	DefaultReconcile    = 2 * time.Minute
	DefaultPageSize     = 500
	DefaultProduct      = "Gentoo Security"
	DefaultComponent    = "Kernel"
	DefaultStorePath    = "ksecbot.db"
	DefaultRetention    = 90 * 24 * time.Hour
	DefaultRestricted   = RestrictedWithhold
	DefaultDigestAfter  = 5
	DefaultDigestWindow = 30 * time.Second
	DefaultRemindAfter  = 4 * time.Hour
	DefaultPrefix       = "!"
	DefaultClaimWindow  = 15 * time.Minute
	DefaultPendingLines = 5
	DefaultPreviewEvery = 10 * time.Minute
	DefaultSlowAfter    = 20 * time.Second
	DefaultRealName     = "ksecbot kernel security bot"
	DefaultSASLMech     = "PLAIN"
	DefaultFloodBurst   = 4
	DefaultFloodEvery   = 2 * time.Second
	DefaultReconnectMax = time.Minute
	DefaultLogLevel     = "info"
	DefaultLogFormat    = "text"
	DefaultCVEScan      = 5 * time.Minute
)

// Values of announce.restricted.
const (
	RestrictedWithhold = "withhold" // public channels get "restricted bug N, details withheld"
	RestrictedSkip     = "skip"     // public channels get nothing
)

func boolPtr(b bool) *bool { return &b }

// applyDefaults fills in every key that the document does not set.
func (c *Config) applyDefaults(idx *docIndex) {
	has := idx.has
	dur := func(key string, d *Duration, def time.Duration) {
		if !has(key) {
			d.Duration = def
		}
	}
	b := &c.Bugzilla
	dur("bugzilla.poll_interval", &b.PollInterval, DefaultPollInterval)
	dur("bugzilla.timeout", &b.Timeout, DefaultTimeout)
	dur("bugzilla.overlap", &b.Overlap, DefaultOverlap)
	dur("bugzilla.catch_up", &b.CatchUp, DefaultCatchUp)
	dur("bugzilla.reconcile_interval", &b.ReconcileInterval, DefaultReconcile)
	if !has("bugzilla.page_size") {
		b.PageSize = DefaultPageSize
	}
	if !has("bugzilla.public_url") {
		b.PublicURL = b.URL
	}
	b.URL = strings.TrimRight(b.URL, "/")
	b.PublicURL = strings.TrimRight(b.PublicURL, "/")
	if len(c.Watches) == 0 {
		c.Watches = []Watch{{Product: DefaultProduct, Component: DefaultComponent}}
	}
	if !has("store.path") {
		c.Store.Path = DefaultStorePath
	}
	dur("store.retention", &c.Store.Retention, DefaultRetention)

	a := &c.Announce
	if !has("announce.restricted") {
		a.Restricted = DefaultRestricted
	}
	if !has("announce.digest_after") {
		a.DigestAfter = DefaultDigestAfter
	}
	dur("announce.digest_window", &a.DigestWindow, DefaultDigestWindow)
	dur("announce.remind_after", &a.RemindAfter, DefaultRemindAfter)
	if a.Changes == nil {
		a.Changes = boolPtr(true)
	}

	cm := &c.Commands
	if !has("commands.prefix") {
		cm.Prefix = DefaultPrefix
	}
	dur("commands.claim_window", &cm.ClaimWindow, DefaultClaimWindow)
	if !has("commands.pending_lines") {
		cm.PendingLines = DefaultPendingLines
	}
	dur("commands.preview_every", &cm.PreviewEvery, DefaultPreviewEvery)
	dur("commands.slow_after", &cm.SlowAfter, DefaultSlowAfter)

	if i := c.IRC; i != nil {
		if !has("irc.user") {
			i.User = i.Nick
		}
		if !has("irc.realname") {
			i.RealName = DefaultRealName
		}
		if !has("irc.sasl_mech") {
			i.SASLMech = DefaultSASLMech
		}
		i.SASLMech = strings.ToUpper(i.SASLMech)
		if !has("irc.sasl_user") && (i.SASLPasswordFile != "" || i.SASLPasswordEnv != "") {
			i.SASLUser = i.Nick
		}
		if !has("irc.flood.burst") {
			i.Flood.Burst = DefaultFloodBurst
		}
		dur("irc.flood.interval", &i.Flood.Interval, DefaultFloodEvery)
		if i.Formatting == nil {
			i.Formatting = boolPtr(true)
		}
		dur("irc.reconnect_max", &i.ReconnectMax, DefaultReconnectMax)
		for k := range i.Channels {
			ch := &i.Channels[k]
			if ch.Previews == nil {
				ch.Previews = boolPtr(true)
			}
			if ch.Key != "" {
				ch.ChannelKey = Secret(ch.Key)
			}
		}
	}
	if m := c.Matrix; m != nil {
		if !has("matrix.state_path") {
			m.StatePath = strings.TrimSuffix(c.Store.Path, ".db") + "-matrix.db"
		}
		if !has("matrix.share_keys") {
			m.ShareKeys = ShareKeysCrossSigned
		}
		for k := range m.Rooms {
			if m.Rooms[k].Previews == nil {
				m.Rooms[k].Previews = boolPtr(true)
			}
		}
	}
	if !has("log.level") {
		c.Log.Level = DefaultLogLevel
	}
	if !has("log.format") {
		c.Log.Format = DefaultLogFormat
	}
	c.Log.Level = strings.ToLower(c.Log.Level)
	c.Log.Format = strings.ToLower(c.Log.Format)
	if k := c.KernelCVE; k != nil {
		if !has("kernel_cve.highlight") {
			k.Highlight = HighlightAffected
		}
		dur("kernel_cve.scan_interval", &k.ScanInterval, DefaultCVEScan)
	}
	if c.Console != nil && c.Console.Private == nil {
		c.Console.Private = boolPtr(true)
	}
}
