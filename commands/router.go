// SPDX-License-Identifier: GPL-3.0-or-later

// Package commands parses, authorizes and answers chat commands (!bug,
// !pending, !mine, !claim, !unclaim, !cc, !cve, !trees, !whoami, !help,
// !snooze, !stats) and passive bug-link previews, independently of the chat network
// they came from. Every command is registered here (Router.builtins), with
// its help text next to its handler; !help, the README command table and
// the man page command list are generated from that registry (docs.go).
//
// The transports hand it a chat.Incoming with an authenticated identity;
// it answers with chat.Outgoing replies. Reads come from the SQLite mirror
// (package store); writes go to Bugzilla through a small interface and are
// audited.
package commands

import (
	"context"
	"log/slog"
	"regexp"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ksecbot/ksecbot/announce"
	"github.com/ksecbot/ksecbot/bugzilla"
	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/config"
	"github.com/ksecbot/ksecbot/policy"
	"github.com/ksecbot/ksecbot/store"
	"github.com/ksecbot/ksecbot/trees"
)

// Store is the part of the SQLite store the commands use. *store.Store
// implements it.
type Store interface {
	Bug(ctx context.Context, id int) (*bugzilla.Bug, bool, error)
	Bugs(ctx context.Context, f store.BugFilter) ([]bugzilla.Bug, int, error)
	RecentAnnouncements(ctx context.Context, channelKey string, since time.Time) ([]store.Announced, error)
	// AnnouncingNow returns the bugs whose announcement to the channel is
	// queued or on its way, not yet confirmed sent.
	AnnouncingNow(ctx context.Context, channelKey string) ([]int, error)
	MessageBugs(ctx context.Context, channelKey, networkID string) (bugs []int, found bool, err error)
	Audit(ctx context.Context, e store.AuditEntry) error
	ComponentDefault(ctx context.Context, watch string) (string, bool, error)
	DefaultHistory(ctx context.Context, watch string) ([]store.DefaultSeen, error)
	RecordClaim(ctx context.Context, bugID int, login string, at time.Time) error
	SaveBugs(ctx context.Context, bugs []bugzilla.Bug, cursors map[string]bugzilla.Cursor, baseline bool) error
	ApplyUpdate(ctx context.Context, b bugzilla.Bug, res bugzilla.UpdateResult) (bugzilla.Bug, error)
	// ReactionTimes (with Bugs) answers !stats.
	ReactionTimes(ctx context.Context, since time.Time) (store.Durations, error)
}

// Bugzilla is the part of the Bugzilla client the commands use.
// *bugzilla.Client implements it.
type Bugzilla interface {
	Bug(ctx context.Context, id int) (*bugzilla.Bug, error)
	Update(ctx context.Context, id int, u bugzilla.Update) (bugzilla.UpdateResult, error)
	HasAPIKey() bool
}

// Deps are the router's collaborators.
type Deps struct {
	Config   *config.Config
	Store    Store
	Bugzilla Bugzilla // nil: read-only, and !bug answers from the mirror only
	Trees    *trees.Registry
	Render   *announce.Renderer
	Now      func() time.Time // default time.Now
	Logger   *slog.Logger     // default slog.Default()
	Version  string
	// OperatorLogin is the Bugzilla login the bot's operator
	// (chat.Identity.Operator: the console) acts as when their network's
	// section names none. Default: the login of the first [[user]] with
	// the admin role.
	OperatorLogin string
	// CVE answers !cve; nil when [kernel_cve] is not configured.
	CVE CVEReporter
	// Exposure answers !exposure from the kernel CVE watch; nil when the
	// watch is off.
	Exposure ExposureStore
	// CVEWatch says how far the watch is, for !exposure before its
	// first scan ends; nil: !exposure judges by the records stored.
	CVEWatch CVEWatchState
	// Reminders postpones reminders for !snooze; nil: !snooze says
	// reminders are not kept here.
	Reminders Reminders
	// RateBurst and RateEvery set the per-sender command limit; defaults
	// 5 and 2s.
	RateBurst int
	RateEvery time.Duration
	// Memory keeps the limits and previews across reloads; nil: a new
	// one.
	Memory *Memory
	// BugLocks serialise the writes to each bug, across reloads too; nil:
	// new ones.
	BugLocks *BugLocks
}

// Defaults for the [commands] table.
const (
	DefaultPrefix       = "!"
	DefaultClaimWindow  = 15 * time.Minute
	DefaultPendingLines = 5
	DefaultPreviewEvery = 10 * time.Minute
	// richPendingLines is the !pending cap on Matrix and the console,
	// and the most any channel shows.
	richPendingLines = config.MaxPendingLines
	// maxPreviews is the most previews one message triggers.
	maxPreviews = 3
)

// Command is one entry of the command table.
type Command struct {
	Name    string
	Aliases []string
	Usage   string // e.g. "claim [--force] [bug]", without the prefix
	Help    string // one sentence, for !help, the README and the man page
	// More is what the README and the man page say after Help (plain
	// text, no markup); !help does not show it.
	More string
	// Roles that may run the command; nil means everyone. A tree
	// maintainer counts as config.RoleMaintainer.
	Roles []string
	// Write marks commands that change Bugzilla: they need an API key,
	// an identified and linked caller, and they are audited.
	Write bool
	// Run answers the request. It is called with the caller already
	// authorized for Roles.
	Run func(ctx context.Context, req *Request) []chat.Line
}

// Request is one parsed command invocation.
type Request struct {
	In     chat.Incoming
	Name   string
	Args   []string
	Caller Caller
}

// Router dispatches chat messages to commands and previews. Safe for
// concurrent use; Handle may be called from several worker goroutines.
type Router struct {
	d        Deps
	cfg      *config.Config
	log      *slog.Logger
	now      func() time.Time
	prefix   string
	window   time.Duration
	pendCap  int
	prevGap  time.Duration
	cmds     []Command
	byName   map[string]int
	writes   *policy.Writes // the write rules for this configuration
	seq      atomic.Uint64
	bugLocks *BugLocks // shared with the routers of other configurations

	mem *Memory // limits and previews, kept across reloads

	bugRe *regexp.Regexp
	urlRe *regexp.Regexp
}

// New builds a router with the built-in commands.
func New(d Deps) *Router {
	if d.Config == nil {
		d.Config = &config.Config{}
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.Trees == nil {
		d.Trees = trees.New(d.Config.Trees)
	}
	if d.Render == nil {
		u := d.Config.Bugzilla.PublicURL
		if u == "" {
			u = d.Config.Bugzilla.URL
		}
		d.Render = announce.NewRenderer(u, d.Trees, d.Config.Announce.Restricted)
	}
	if d.Memory == nil {
		d.Memory = NewMemory()
	}
	if d.BugLocks == nil {
		d.BugLocks = NewBugLocks()
	}
	if d.RateBurst <= 0 {
		d.RateBurst = 5
	}
	if d.RateEvery <= 0 {
		d.RateEvery = 2 * time.Second
	}
	if d.OperatorLogin == "" {
		for _, u := range d.Config.Users {
			if policy.HasRole(u.Roles, config.RoleAdmin) && u.Bugzilla != "" {
				d.OperatorLogin = u.Bugzilla
				break
			}
		}
	}
	c := d.Config.Commands
	r := &Router{
		d:        d,
		cfg:      d.Config,
		log:      d.Logger.With("component", "commands"),
		now:      d.Now,
		prefix:   c.Prefix,
		window:   c.ClaimWindow.Duration,
		pendCap:  c.PendingLines,
		prevGap:  c.PreviewEvery.Duration,
		byName:   map[string]int{},
		writes:   policy.NewWrites(d.Trees.All(), d.Config.Users),
		mem:      d.Memory,
		bugLocks: d.BugLocks,
		bugRe:    regexp.MustCompile(`(?i)\bbug\s*#?\s*([0-9]{1,9})\b`),
	}
	if r.prefix == "" {
		r.prefix = DefaultPrefix
	}
	if r.window <= 0 {
		r.window = DefaultClaimWindow
	}
	if r.pendCap <= 0 {
		r.pendCap = DefaultPendingLines
	}
	if r.prevGap <= 0 {
		r.prevGap = DefaultPreviewEvery
	}
	if host := bugzillaHost(d.Config.Bugzilla.URL, d.Config.Bugzilla.PublicURL); host != "" {
		r.urlRe = regexp.MustCompile(`(?i)https?://(?:` + host + `)(?::[0-9]+)?(?:/[^\s?]*)?/show_bug\.cgi\?(?:[^\s]*&)?id=([0-9]{1,9})\b`)
	}
	for _, cmd := range r.builtins() {
		r.Register(cmd)
	}
	return r
}

// Register adds a command to the table (or replaces one of the same name).
// It must be called before Handle is used concurrently.
func (r *Router) Register(c Command) {
	if i, ok := r.byName[c.Name]; ok && r.cmds[i].Name == c.Name {
		r.cmds[i] = c
	} else {
		r.cmds = append(r.cmds, c)
		i = len(r.cmds) - 1
		r.byName[c.Name] = i
	}
	i := r.byName[c.Name]
	for _, a := range c.Aliases {
		r.byName[a] = i
	}
}

// Commands returns the command table, in help order.
func (r *Router) Commands() []Command { return append([]Command(nil), r.cmds...) }

// Prefix returns the command prefix.
func (r *Router) Prefix() string { return r.prefix }

// builtins is the command table, in help order.
func (r *Router) builtins() []Command {
	return []Command{
		{Name: "bug", Usage: "bug <id>", Help: "one line about a bug: summary, severity, status, assignee and link.",
			More: "Also answered, rate-limited, for \"bug 123456\" and show_bug links in a channel with previews.", Run: r.cmdBug},
		{Name: "pending", Usage: "pending [tree]", Help: "open bugs nobody has claimed yet; with a tree, the open bugs that concern it (named in the summary, whiteboard or aliases, or naming no tree) and that it has neither claimed nor been CC'd on.",
			More: "From the local mirror.", Run: r.cmdPending},
		r.mineCommand(),
		{Name: "claim", Usage: "claim [--force] [bug]", Help: "assign a bug to your Bugzilla login; without a number, the bug of the announcement you reply to, else the last one announced here if no other came in the last minute; otherwise ksecbot asks which bug and changes nothing.",
			More:  "A reply names its bug on Matrix and in IRC clients that send reply tags; the last one counts only within [commands] claim_window (15 min). --force (security, admin) takes a bug someone else has claimed. Restricted bugs: security and admin only.",
			Roles: writeRoles, Write: true, Run: r.cmdClaim},
		{Name: "unclaim", Usage: "unclaim <bug>", Help: "give a bug back to the component default assignee.",
			More: "Restricted bugs: security and admin only.", Roles: writeRoles, Write: true, Run: r.cmdUnclaim},
		{Name: "cc", Usage: "cc <tree-or-login>[,...] [bug]", Help: "add the trees' Bugzilla logins (or the logins) to a bug's CC and highlight the trees' maintainers.",
			More:  "Without a number, the bug as for !claim. Maintainers may add tree names, tree logins and [[user]] logins; security and admin any login. Restricted bugs: security and admin only.",
			Roles: writeRoles, Write: true, Run: r.cmdCC},
		r.cveCommand(),
		r.exposureCommand(),
		{Name: "trees", Usage: "trees", Help: "the kernel trees ksecbot knows, with aliases and Bugzilla logins.", Run: r.cmdTrees},
		{Name: "whoami", Usage: "whoami", Help: "who ksecbot thinks you are and what you may do.", Run: r.cmdWhoami},
		{Name: "help", Aliases: []string{"commands"}, Usage: "help [command]", Help: "the list of commands, or the usage of one.", Run: r.cmdHelp},
		r.snoozeCommand(),
		r.statsCommand(),
	}
}

// dispatch runs a command after the authorization checks.
func (r *Router) dispatch(ctx context.Context, in chat.Incoming, name string, args []string) []chat.Line {
	i, ok := r.byName[name]
	if !ok {
		return []chat.Line{chat.Line{}.Text("Unknown command ").Code(r.prefix + name).
			Text(". Commands: " + r.commandList() + "; " + r.prefix + "help <command> for details.")}
	}
	cmd := r.cmds[i]
	req := &Request{In: in, Name: cmd.Name, Args: args, Caller: r.caller(in.Sender)}
	if cmd.Write || len(cmd.Roles) > 0 {
		if msg := r.authorize(cmd, req.Caller); msg != "" {
			if cmd.Write {
				r.audit(ctx, req, firstBug(args), "refused", "")
				r.log.Info("command refused", "command", cmd.Name, "account", in.Sender.Account,
					"network", in.Sender.Network, "channel", in.Channel.Key, "reason", msg)
			}
			return []chat.Line{chat.Line{}.Text(msg)}
		}
	}
	if cmd.Write && (r.d.Bugzilla == nil || !r.d.Bugzilla.HasAPIKey()) {
		r.audit(ctx, req, firstBug(args), "read-only", "")
		return []chat.Line{chat.Line{}.Text("read-only: no Bugzilla API key is configured, so ksecbot cannot change bugs; the operator can set bugzilla.api_key_file.")}
	}
	if kr, ok := r.d.Bugzilla.(interface{ KeyRefused() bool }); cmd.Write && ok && kr.KeyRefused() {
		r.audit(ctx, req, firstBug(args), "read-only: key refused", "")
		return []chat.Line{chat.Line{}.Text("read-only for now: Bugzilla refuses ksecbot's API key, so nothing was changed; the operator has been told " +
			"(bugzilla.api_key_file) and ksecbot tries the key again every few minutes. Try again later, or make the change in Bugzilla.")}
	}
	return cmd.Run(ctx, req)
}

// commandList renders the names of every command with the prefix.
func (r *Router) commandList() string {
	names := make([]string, len(r.cmds))
	for i, c := range r.cmds {
		names[i] = r.prefix + c.Name
	}
	return strings.Join(names, " ")
}

// usageLine is the one-line usage of a command.
func (r *Router) usageLine(name string) chat.Line {
	i, ok := r.byName[name]
	if !ok {
		return chat.Line{}.Text("Unknown command " + name)
	}
	c := r.cmds[i]
	return chat.Line{}.Text("Usage: ").Code(r.prefix + c.Usage).Text(" — " + c.Help)
}

// lockBug serialises writes to one bug inside the process (BugLocks).
func (r *Router) lockBug(id int) func() { return r.bugLocks.Lock(id) }

func hasString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// The real store and client satisfy the interfaces.
var (
	_ Store    = (*store.Store)(nil)
	_ Bugzilla = (*bugzilla.Client)(nil)
)
