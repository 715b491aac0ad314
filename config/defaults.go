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
	// MaxPendingLines is the most bug lines !pending lists anywhere;
	// a larger pending_lines is a warning.
	MaxPendingLines     = 20
	DefaultPreviewEvery = 10 * time.Minute
	DefaultSlowAfter    = 20 * time.Second
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
	for _, n := range c.Networks {
		if sec := c.Sections[n.Name]; sec != nil {
			sec.Defaults(&Defaults{table: n.Table, idx: idx, StorePath: c.Store.Path})
		}
	}
}
