// SPDX-License-Identifier: GPL-3.0-or-later

// Package config loads and validates ksecbot's TOML configuration: the
// shared tables here, each chat network's own table and [[tree]]/[[user]]
// keys as that network registers them (networks.go), and every problem
// with its key and line.
//
// The keys are a contract (README, Configuration): they are only ever
// added, never renamed.
package config

import (
	"time"
)

// Config is the whole configuration file.
type Config struct {
	Bugzilla Bugzilla `toml:"bugzilla"`
	Watches  []Watch  `toml:"watch"`
	Store    Store    `toml:"store"`
	Announce Announce `toml:"announce"`
	Commands Commands `toml:"commands"`
	HTTP     HTTP     `toml:"http"`
	Trees    []Tree   `toml:"tree"`
	Users    []User   `toml:"user"`
	Log      Log      `toml:"log"`
	// KernelCVE and Gentoo are optional: without [kernel_cve] the kernel
	// CVE verdicts are off; without [gentoo] no tree has versions.
	KernelCVE *KernelCVE `toml:"kernel_cve"`
	Gentoo    *Gentoo    `toml:"gentoo"`
	Metadata  *Metadata  `toml:"-"`

	// Networks are the chat networks the file was parsed for (Parse's
	// nets), and Sections the decoded table of each that the file has,
	// keyed by network name.
	Networks []Network          `toml:"-" json:"-"`
	Sections map[string]Section `toml:"-"`

	bad map[string]bool // keys with a problem (Validate), for Bad
}

// Metadata records where the configuration came from.
type Metadata struct {
	Path string // the file it was read from

	index *docIndex // line of every key, for problems found after Parse
}

// Bugzilla is the [bugzilla] table.
type Bugzilla struct {
	URL          string   `toml:"url"`              // base URL; REST lives under /rest
	APIKeyFile   string   `toml:"api_key_file"`     // optional; without it ksecbot is read-only
	APIKeyEnv    string   `toml:"api_key_env"`      // optional: name of an environment variable holding the key
	PollInterval Duration `toml:"poll_interval"`    // default 60s
	Timeout      Duration `toml:"timeout"`          // per request, default 30s
	Overlap      Duration `toml:"overlap"`          // re-read window behind the cursor, default 2m
	PageSize     int      `toml:"page_size"`        // search page size, default 500
	PublicURL    string   `toml:"public_url"`       // URL shown in chat, default = url
	DefaultLogin string   `toml:"default_assignee"` // optional: component default assignee, for "unclaimed"
	CatchUp      Duration `toml:"catch_up"`         // fresh database: announce bugs created this recently; default 24h
	// ReconcileInterval: how often every open mirrored bug is read again
	// by id (a bug restricted out of ksecbot's sight, moved or deleted);
	// default 2m, 0 turns it off.
	ReconcileInterval Duration `toml:"reconcile_interval"`

	// APIKey is the key read from APIKeyFile or APIKeyEnv. It is never
	// logged or printed.
	APIKey Secret `toml:"-"`
}

// Watch is one [[watch]] product/component pair.
type Watch struct {
	Product   string `toml:"product"`
	Component string `toml:"component"`
}

// Name is a stable name for the watch, used as the cursor key.
func (w Watch) Name() string { return w.Product + "/" + w.Component }

// Store is the [store] table.
type Store struct {
	Path string `toml:"path"` // SQLite file
	// Retention: sent outbox intents and processed events older than
	// this are pruned (they hold bug details); default 90d, 0 keeps them.
	Retention Duration `toml:"retention"`
}

// Announce is the [announce] table.
type Announce struct {
	AutoCC []string `toml:"auto_cc"` // logins CC'd on every new bug
	// RestrictedAutoCC are the only logins auto-CC may add to a restricted
	// bug (those known to be in the security group); default none.
	RestrictedAutoCC []string            `toml:"restricted_auto_cc"`
	Restricted       string              `toml:"restricted"`   // "withhold" (default) or "skip"
	DigestAfter      int                 `toml:"digest_after"` // more new bugs than this within DigestWindow -> one digest; default 5
	DigestWindow     Duration            `toml:"digest_window"`
	RemindAfter      Duration            `toml:"remind_after"` // default 4h; 0 disables
	RemindGrade      map[string]Duration `toml:"remind_grade"` // per whiteboard grade ("A", "B2", ...): override
	Changes          *bool               `toml:"changes"`      // announce important changes; default true
}

// Commands is the [commands] table.
type Commands struct {
	Prefix       string   `toml:"prefix"`        // default "!"
	ClaimWindow  Duration `toml:"claim_window"`  // "!claim" without a number: last bug within this; default 15m
	PendingLines int      `toml:"pending_lines"` // lines of !pending on IRC before "and N more"; default 5
	PreviewEvery Duration `toml:"preview_every"` // per bug and channel; default 10m
	// SlowAfter is how long a write command (!claim, !unclaim, !cc) may
	// wait for Bugzilla before the caller is told it is slow; the result
	// is posted when it comes. Default 20s.
	SlowAfter Duration `toml:"slow_after"`
}

// HTTP is the [http] table: metrics, health and the webhook.
type HTTP struct {
	Listen            string `toml:"listen"`
	WebhookSecretFile string `toml:"webhook_secret_file"`
	WebhookSecretEnv  string `toml:"webhook_secret_env"`
	// StatusPage serves the read-only status page at GET / (default
	// false): what a public channel may see, with no login.
	StatusPage bool `toml:"status_page"`

	WebhookSecret Secret `toml:"-"`
}

// Tree is one [[tree]]: a kernel tree and its maintainers.
type Tree struct {
	Name     string   `toml:"name"`
	Aliases  []string `toml:"aliases"`
	Packages []string `toml:"packages"`
	Bugzilla []string `toml:"bugzilla"`
	AutoCC   bool     `toml:"auto_cc"`
	// Unsupported marks a tree without security support
	// (K_SECURITY_UNSUPPORTED); it is still highlighted when named.
	Unsupported bool `toml:"unsupported"`
	// UpstreamVersions maps ebuild versions of the tree's packages that
	// are no upstream release ("6.12_p5": a patch set on 6.12 with stable
	// updates of its own) to the upstream kernel release they carry
	// ("6.12.10"). Such versions without an entry have unknown verdicts.
	UpstreamVersions map[string]string `toml:"upstream_versions"`

	// Handles are the tree's maintainers to highlight, keyed by network
	// name: each network's own [[tree]] key (Network.Tree).
	Handles map[string][]string `toml:"-"`
	// Members are the handles that are identities (TreeKey.Identity),
	// keyed by network name.
	Members map[string][]string `toml:"-"`
}

// User is one [[user]]: a chat identity linked to a Bugzilla login.
type User struct {
	Bugzilla string   `toml:"bugzilla"`
	Roles    []string `toml:"roles"` // security | maintainer | admin

	// Accounts are the person's chat accounts, keyed by network name:
	// each network's own [[user]] key (Network.User).
	Accounts map[string]string `toml:"-"`
}

// Roles.
const (
	RoleSecurity   = "security"
	RoleMaintainer = "maintainer"
	RoleAdmin      = "admin"
)

// Log is the [log] table.
type Log struct {
	Level  string `toml:"level"`  // debug, info (default), warn, error
	Format string `toml:"format"` // text (default) or json
}

// KernelCVE is the optional [kernel_cve] table.
type KernelCVE struct {
	// Path is a clone of the kernel CNA's vulns repository (the directory
	// holding cve/published and cve/rejected), kept current by the
	// operator with git pull.
	Path string `toml:"path"`
	// Highlight: "affected" (default) highlights only the trees a bug's
	// CVE affects (or cannot be decided for); fixed and unaffected trees
	// are named without a highlight. "all" highlights every tree as
	// without CVE data.
	Highlight string `toml:"highlight"`
	// ScanInterval is how often the clone is rescanned for new, changed
	// and rejected records (the CVE watch); 0 turns the watch off.
	// Default 5m.
	ScanInterval Duration `toml:"scan_interval"`
}

// Highlight values.
const (
	HighlightAffected = "affected"
	HighlightAll      = "all"
)

// Gentoo is the optional [gentoo] table.
type Gentoo struct {
	// Repo is the Gentoo repository whose ebuilds give each tree's
	// versions; also the default of "ksecbot trees --repo".
	Repo string `toml:"repo"`
}

// Duration is a time.Duration written as a Go duration string ("60s", "4h")
// or as "3d" / "2w" for days and weeks.
type Duration struct{ time.Duration }

// Secret is a string that never prints itself.
type Secret string

// String hides the value.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "<redacted>"
}

// GoString hides the value from %#v.
func (s Secret) GoString() string { return s.String() }

// MarshalText hides the value from encoders (JSON, TOML, slog handlers).
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Reveal returns the secret itself, for the one place that must send it.
func (s Secret) Reveal() string { return string(s) }
