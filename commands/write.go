// SPDX-License-Identifier: GPL-3.0-or-later

package commands

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/ksecbot/ksecbot/announce"
	"github.com/ksecbot/ksecbot/bugzilla"
	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/config"
	"github.com/ksecbot/ksecbot/policy"
	"github.com/ksecbot/ksecbot/store"
	"github.com/ksecbot/ksecbot/trees"
)

// writeRoles is what !help says !claim, !unclaim and !cc need; the write
// policy (package policy) decides.
var writeRoles = []string{config.RoleSecurity, config.RoleMaintainer, config.RoleAdmin}

// checkWrite asks the write policy whether the caller may make the write,
// with the bug's restriction as Bugzilla shows it now (b nil: before the
// bug is read). When refused it audits the refusal and returns the reply;
// nothing has been written to Bugzilla.
func (r *Router) checkWrite(ctx context.Context, req *Request, wr policy.WriteRequest, id int, b *bugzilla.Bug) chat.Line {
	wr.Actor = req.Caller.actor()
	if wr.Command == "" {
		wr.Command = policy.WriteCommand(req.Name)
	}
	if b != nil {
		wr.Restricted = b.Restricted()
	}
	d := r.writes.Write(wr)
	if d.Allowed {
		return nil
	}
	r.audit(ctx, req, id, "refused: "+d.Reason, "")
	r.log.Info("command refused", "command", req.Name, "bug", id, "account", req.In.Sender.Account,
		"network", req.In.Sender.Network, "channel", req.In.Channel.Key, "reason", d.Reason)
	return chat.Line{}.Text(r.refusal(req.Name, req.Caller, d, id, wr.Assignee, policy.Private(req.In.Channel)))
}

// login renders a Bugzilla login for the place a request came from, as
// the policy lets it show logins: the address in private channels, the
// login name without domain in public channels and private messages.
func (r *Router) login(in chat.Incoming, login string) string {
	return cleanShort(policy.ShowLogin(login, policy.Private(in.Channel)))
}

// logins renders several logins with login.
func (r *Router) logins(in chat.Incoming, list []string) string {
	out := make([]string, len(list))
	for i, l := range list {
		out[i] = r.login(in, l)
	}
	return strings.Join(out, ", ")
}

// audit records an attempted write in the store and the log.
func (r *Router) audit(ctx context.Context, req *Request, bugID int, result, errCode string) {
	e := store.AuditEntry{
		At:      r.now(),
		Network: req.In.Sender.Network,
		Channel: req.In.Channel.Key,
		Account: req.In.Sender.Account,
		Login:   req.Caller.Login,
		Command: req.Name,
		BugID:   bugID,
		Result:  result,
		ErrCode: errCode,
	}
	r.log.Info("write command", "command", req.Name, "bug", bugID, "account", e.Account, "network", e.Network,
		"channel", e.Channel, "login", e.Login, "result", result, "err_code", errCode)
	if r.d.Store == nil {
		return
	}
	// The audit entry must be written even when the request's context
	// was cancelled half way.
	if err := r.d.Store.Audit(context.WithoutCancel(ctx), e); err != nil {
		r.log.Error("failed to write audit entry", "err", err)
	}
}

// errCode is the Bugzilla error code of err for the audit log, or a short
// class name.
func errCode(err error) string {
	var be *bugzilla.Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &be) && be.Code != 0:
		return strconv.Itoa(be.Code)
	case errors.As(err, &be):
		return "http-" + strconv.Itoa(be.HTTPStatus)
	case bugzilla.Temporary(err):
		return "unavailable"
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	}
	return "error"
}

// bugzillaError turns an error from Bugzilla into a plain reply. A bad API
// key is reported to the operator through the log, not to the channel.
func (r *Router) bugzillaError(err error, bugID int, logins []string) chat.Line {
	l := chat.Line{}
	switch {
	case errors.Is(err, bugzilla.ErrNotFound):
		return l.Text(fmt.Sprintf("Bug %d does not exist; check the number.", bugID))
	case errors.Is(err, bugzilla.ErrRestricted):
		return l.Text(fmt.Sprintf("Bug %d is restricted and ksecbot's Bugzilla account may not see it; ask the security team.", bugID))
	case errors.Is(err, bugzilla.ErrUnknownUser):
		msg := "Bugzilla does not know that login"
		if len(logins) > 0 {
			msg = "Bugzilla does not know one of " + strings.Join(logins, ", ")
		}
		return l.Text(msg + "; see " + r.prefix + "trees for tree names and their logins.")
	case errors.Is(err, bugzilla.ErrBadAPIKey), errors.Is(err, bugzilla.ErrLoginRequired), errors.Is(err, bugzilla.ErrNoAPIKey), errors.Is(err, bugzilla.ErrKeyRefused):
		r.log.Error("Bugzilla rejected ksecbot's API key: check bugzilla.api_key_file", "err", err)
		return l.Text("Bugzilla refused ksecbot's credentials; the operator has been told. Nothing was changed.")
	case errors.Is(err, bugzilla.ErrPermission):
		return l.Text(fmt.Sprintf("Bugzilla did not let ksecbot change bug %d (permission denied); ask the operator to check the bot account's groups.", bugID))
	case errors.Is(err, bugzilla.ErrGarbage):
		r.log.Warn("Bugzilla answered malformed JSON", "bug", bugID, "err", err)
		return l.Text("Bugzilla answered garbage; try again.")
	case bugzilla.Temporary(err), errors.Is(err, bugzilla.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		return l.Text("Bugzilla is not answering right now; try again in a few minutes.")
	}
	r.log.Warn("Bugzilla error", "bug", bugID, "err", err)
	return l.Text(fmt.Sprintf("Bugzilla refused the change to bug %d; the details are in the log.", bugID))
}

// targetBug finds the bug a write command is about: the explicit number,
// else the announcement the message replies to, else the last bug
// announced in the channel within the claim window.
func (r *Router) targetBug(ctx context.Context, req *Request, explicit int) (int, chat.Line) {
	if explicit > 0 {
		return explicit, nil
	}
	in := req.In
	if in.ReplyTo != "" && r.d.Store != nil {
		id, ok, err := r.d.Store.BugForMessage(ctx, in.Channel.Key, in.ReplyTo)
		if err != nil {
			r.log.Warn("failed to look up replied-to message", "err", err)
		} else if ok {
			return id, nil
		}
	}
	if r.d.Store != nil && !in.Direct {
		id, ok, err := r.d.Store.LastAnnounced(ctx, in.Channel.Key, r.now().Add(-r.window))
		if err != nil {
			r.log.Warn("failed to look up last announcement", "err", err)
		} else if ok {
			return id, nil
		}
	}
	return 0, chat.Line{}.Text(fmt.Sprintf("Which bug? No bug was announced here in the last %s; say ", shortDuration(r.window))).
		Code(r.prefix + req.Name + " <bug>").Text(".")
}

// watched reports whether a bug belongs to one of the configured watches.
func (r *Router) watched(b *bugzilla.Bug) bool {
	for _, w := range r.watches() {
		if strings.EqualFold(w.Product, b.Product) && strings.EqualFold(w.Component, b.Component) {
			return true
		}
	}
	return false
}

// watches returns the configured watches, or the default one.
func (r *Router) watches() []config.Watch {
	if len(r.cfg.Watches) > 0 {
		return r.cfg.Watches
	}
	return []config.Watch{{Product: "Gentoo Security", Component: "Kernel"}}
}

// defaultAssignee returns the component default of a bug's watch.
func (r *Router) defaultAssignee(ctx context.Context, product, component string) string {
	if r.d.Store != nil {
		if l, ok, err := r.d.Store.ComponentDefault(ctx, product+"/"+component); err != nil {
			r.log.Warn("failed to read component default", "err", err)
		} else if ok && l != "" {
			return l
		}
	}
	return r.cfg.Bugzilla.DefaultLogin
}

// Unclaimed reports whether a bug is still with its component's default
// assignee. When the default is not known, a bug counts as claimed once it
// is assigned to a linked [[user]]. The reminders use the same rule.
//
// The bug may come from the mirror, which an anonymous watcher fills with
// logins as anonymous Bugzilla shows them ("security" for
// "security@gentoo.org"), and the default may have been read anonymously
// too; so this is the one place that compares logins by name when one side
// has no domain (bugzilla.SameLogin), as store.SaveBugs does when it
// settles reminders. It grants no right and picks no one to CC (those use
// policy.SameAddress): at worst a bug counts as unclaimed and !claim needs
// no --force.
func (r *Router) Unclaimed(ctx context.Context, b *bugzilla.Bug) bool {
	if b.AssignedTo == "" {
		return true
	}
	if def := r.defaultAssignee(ctx, b.Product, b.Component); def != "" {
		return bugzilla.SameLogin(b.AssignedTo, def)
	}
	for _, u := range r.cfg.Users {
		if bugzilla.SameLogin(u.Bugzilla, b.AssignedTo) {
			return false
		}
	}
	return true
}

// lockWritable takes the bug's write lock (writes to one bug are
// serialised in the process), reads the bug from Bugzilla and checks that it
// is in a watch. On success the caller must call unlock; on failure the lock
// is already released and msg is the reply to give.
func (r *Router) lockWritable(ctx context.Context, req *Request, id int) (b *bugzilla.Bug, unlock func(), msg chat.Line) {
	unlock = r.lockBug(id)
	b, err := r.d.Bugzilla.Bug(ctx, id)
	if err != nil {
		unlock()
		r.audit(ctx, req, id, "error: "+err.Error(), errCode(err))
		return nil, nil, r.bugzillaError(err, id, nil)
	}
	if !r.watched(b) {
		unlock()
		r.audit(ctx, req, id, "refused: not in a watch", "")
		if !announce.Visible(b, req.In.Channel) {
			return nil, nil, chat.Line{}.Text(fmt.Sprintf("Bug %d is not a kernel security bug that ksecbot watches; change it in Bugzilla.", id))
		}
		return nil, nil, chat.Line{}.Text(fmt.Sprintf("Bug %d is in %s / %s, which ksecbot does not watch; change it in Bugzilla.",
			id, cleanShort(b.Product), cleanShort(b.Component)))
	}
	return b, unlock, nil
}

// refresh brings the mirror up to date after a write from the bug as read
// before it and Bugzilla's answer (its changes and last_change_time),
// without reading the bug again: a write command costs one read and one
// write. It returns the bug as it is now.
func (r *Router) refresh(ctx context.Context, b *bugzilla.Bug, res bugzilla.UpdateResult) *bugzilla.Bug {
	fresh := res.Apply(*b)
	if r.d.Store != nil {
		// Apply the answer to the mirror's copy as it is now, in one
		// transaction: the watcher may have stored a newer state (say, the
		// bug restricted) since b was read.
		saved, err := r.d.Store.ApplyUpdate(ctx, *b, res)
		if err != nil {
			r.log.Warn("failed to refresh mirror", "bug", b.ID, "err", err)
		} else {
			fresh = saved
		}
	}
	return &fresh
}

// where describes the place a command came from, for Bugzilla comments.
func where(in chat.Incoming) string {
	switch {
	case in.Sender.Network == chat.NetConsole || in.Channel.Network == chat.NetConsole:
		return "the ksecbot console"
	case in.Direct:
		return "a private message on " + in.Sender.Network
	case in.Channel.Name != "":
		return in.Channel.Name
	}
	return in.Channel.Key
}

// cmdClaim implements !claim [--force] [bug].
func (r *Router) cmdClaim(ctx context.Context, req *Request) []chat.Line {
	force := false
	explicit := 0
	for _, a := range req.Args {
		switch {
		case a == "--force" || a == "-f":
			force = true
		default:
			id, ok := parseBugID(a)
			if !ok || explicit != 0 {
				return []chat.Line{r.usageLine("claim")}
			}
			explicit = id
		}
	}
	wr := policy.WriteRequest{Command: policy.WriteClaim, Force: force}
	if msg := r.checkWrite(ctx, req, wr, explicit, nil); msg != nil {
		return []chat.Line{msg} // --force without the role: refused before any read
	}
	id, msg := r.targetBug(ctx, req, explicit)
	if msg != nil {
		return []chat.Line{msg}
	}
	b, unlock, msg := r.lockWritable(ctx, req, id)
	if msg != nil {
		return []chat.Line{msg}
	}
	defer unlock()
	if msg := r.checkWrite(ctx, req, wr, id, b); msg != nil {
		return []chat.Line{msg}
	}
	login := req.Caller.Login
	if policy.SameAddress(b.AssignedTo, login) {
		r.audit(ctx, req, id, "no-op: already assigned to caller", "")
		return []chat.Line{chat.Line{}.Bold(fmt.Sprintf("Bug %d", id)).Text(" is already assigned to you (").QuoteCode(r.login(req.In, login)).Text("); nothing changed.")}
	}
	if !r.Unclaimed(ctx, b) && !force {
		r.audit(ctx, req, id, "refused: claimed by "+b.AssignedTo, "")
		return []chat.Line{chat.Line{}.Bold(fmt.Sprintf("Bug %d", id)).Text(" is already claimed by ").QuoteCode(r.login(req.In, b.AssignedTo)).
			Text("; nothing changed. Talk to them, or (security/admin) use ").Code(r.prefix + "claim --force " + strconv.Itoa(id)).Text(".")}
	}
	comment := fmt.Sprintf("Claimed from %s via ksecbot by %s.", where(req.In), req.In.Sender.Account)
	res, err := r.d.Bugzilla.Update(ctx, id, bugzilla.Update{AssignedTo: login, Comment: comment})
	if err != nil {
		r.audit(ctx, req, id, "error: "+err.Error(), errCode(err))
		return []chat.Line{r.bugzillaError(err, id, []string{r.login(req.In, login)})}
	}
	// Re-check Bugzilla's answer: someone may have claimed the bug
	// between our read and our write (outside this process).
	note := ""
	if ch, ok := res.Changes["assigned_to"]; ok && ch.Removed != "" && !policy.SameAddress(ch.Removed, b.AssignedTo) {
		note = " Note: it had just been assigned to " + r.login(req.In, ch.Removed) + " by someone else; talk to them."
		r.log.Warn("claim raced with another assignment", "bug", id, "previous", ch.Removed, "login", login)
	}
	r.audit(ctx, req, id, "ok", "")
	fresh := r.refresh(ctx, b, res)
	if !policy.SameAddress(fresh.AssignedTo, login) {
		return []chat.Line{chat.Line{}.Bold(fmt.Sprintf("Bug %d", id)).Text(" is now assigned to ").QuoteCode(r.login(req.In, fresh.AssignedTo)).
			Text(", who claimed it at the same moment; nothing more changed.")}
	}
	if r.d.Store != nil {
		if err := r.d.Store.RecordClaim(ctx, id, login, r.now()); err != nil {
			r.log.Warn("failed to record claim", "bug", id, "err", err)
		}
	}
	return []chat.Line{chat.Line{}.Text("Claimed: ").Bold(fmt.Sprintf("bug %d", id)).Text(" is now assigned to ").QuoteCode(r.login(req.In, login)).
		Text("."+note+" ").Link("", r.d.Render.BugURL(id))}
}

// cmdUnclaim implements !unclaim <bug>.
func (r *Router) cmdUnclaim(ctx context.Context, req *Request) []chat.Line {
	if len(req.Args) != 1 {
		return []chat.Line{r.usageLine("unclaim")}
	}
	id, ok := parseBugID(req.Args[0])
	if !ok {
		return []chat.Line{r.usageLine("unclaim")}
	}
	b, unlock, msg := r.lockWritable(ctx, req, id)
	if msg != nil {
		return []chat.Line{msg}
	}
	defer unlock()
	if msg := r.checkWrite(ctx, req, policy.WriteRequest{}, id, b); msg != nil {
		return []chat.Line{msg} // restricted: not even whether it is claimed
	}
	if r.Unclaimed(ctx, b) {
		r.audit(ctx, req, id, "no-op: not claimed", "")
		return []chat.Line{chat.Line{}.Bold(fmt.Sprintf("Bug %d", id)).Text(" is not claimed by anyone; nothing changed.")}
	}
	if msg := r.checkWrite(ctx, req, policy.WriteRequest{Assignee: b.AssignedTo}, id, b); msg != nil {
		return []chat.Line{msg}
	}
	comment := fmt.Sprintf("Unclaimed from %s via ksecbot by %s.", where(req.In), req.In.Sender.Account)
	res, err := r.d.Bugzilla.Update(ctx, id, bugzilla.Update{ResetAssignedTo: true, Comment: comment})
	if err != nil {
		r.audit(ctx, req, id, "error: "+err.Error(), errCode(err))
		return []chat.Line{r.bugzillaError(err, id, nil)}
	}
	r.audit(ctx, req, id, "ok", "")
	r.refresh(ctx, b, res)
	to := ""
	if ch, ok := res.Changes["assigned_to"]; ok {
		to = ch.Added
	}
	l := chat.Line{}.Text("Unclaimed: ").Bold(fmt.Sprintf("bug %d", id)).Text(" is back with ")
	if to != "" {
		l = l.QuoteCode(r.login(req.In, to))
	} else {
		l = l.Text("the component default")
	}
	return []chat.Line{l.Text(". ").Link("", r.d.Render.BugURL(id))}
}

// cmdCC implements !cc <tree-or-login>[,...] [bug].
func (r *Router) cmdCC(ctx context.Context, req *Request) []chat.Line {
	args := req.Args
	explicit := 0
	if len(args) > 1 {
		if id, ok := parseBugID(args[len(args)-1]); ok {
			explicit = id
			args = args[:len(args)-1]
		}
	}
	var items []string
	for _, a := range args {
		for _, it := range strings.Split(a, ",") {
			if it = strings.TrimSpace(it); it != "" {
				items = append(items, it)
			}
		}
	}
	if len(items) == 0 {
		return []chat.Line{r.usageLine("cc")}
	}
	var logins []string
	var named []config.Tree
	for _, it := range items {
		if t, ok := r.d.Trees.Lookup(it); ok {
			if !slices.ContainsFunc(named, func(n config.Tree) bool { return n.Name == t.Name }) {
				named = append(named, t) // "!cc rpi,rpi" highlights rpi once
			}
			for _, l := range trees.Logins([]config.Tree{t}) {
				if !loginIn(l, logins) {
					logins = append(logins, l)
				}
			}
			continue
		}
		if strings.Contains(it, "@") && !strings.ContainsAny(it, " \t<>\"'") {
			if !loginIn(it, logins) {
				logins = append(logins, it)
			}
			continue
		}
		return []chat.Line{chat.Line{}.Text("I know no tree ").Code(cleanShort(it)).
			Text(" and it is not a Bugzilla login; see " + r.prefix + "trees for the tree names.")}
	}
	if len(logins) == 0 {
		return []chat.Line{chat.Line{}.Text("Those trees list no Bugzilla logins; see " + r.prefix + "trees.")}
	}
	wr := policy.WriteRequest{Command: policy.WriteCC, Add: logins}
	if msg := r.checkWrite(ctx, req, wr, explicit, nil); msg != nil {
		return []chat.Line{msg} // an outside login: refused before any read
	}
	id, msg := r.targetBug(ctx, req, explicit)
	if msg != nil {
		return []chat.Line{msg}
	}
	b, unlock, msg := r.lockWritable(ctx, req, id)
	if msg != nil {
		return []chat.Line{msg}
	}
	defer unlock()
	if msg := r.checkWrite(ctx, req, wr, id, b); msg != nil {
		return []chat.Line{msg}
	}
	var add []string
	for _, l := range logins {
		if !loginIn(l, b.CC) {
			add = append(add, l)
		}
	}
	if len(add) == 0 {
		r.audit(ctx, req, id, "no-op: already in CC", "")
		return []chat.Line{chat.Line{}.Text("Already in CC of ").Bold(fmt.Sprintf("bug %d", id)).Text(": ").QuoteCode(r.logins(req.In, logins)).Text("; nothing changed.")}
	}
	res, err := r.d.Bugzilla.Update(ctx, id, bugzilla.Update{CCAdd: add})
	if err != nil {
		r.audit(ctx, req, id, "error: "+err.Error(), errCode(err))
		return []chat.Line{r.bugzillaError(err, id, []string{r.logins(req.In, add)})}
	}
	r.audit(ctx, req, id, "ok", "")
	r.refresh(ctx, b, res)
	added := ""
	if ch, ok := res.Changes["cc"]; ok {
		added = ch.Added
	}
	if added == "" {
		return []chat.Line{chat.Line{}.Text("Bugzilla already had ").QuoteCode(r.logins(req.In, add)).Text(" in CC of ").Bold(fmt.Sprintf("bug %d", id)).Text("; nothing changed.")}
	}
	if !announce.Visible(b, req.In.Channel) {
		// A restricted bug in a public channel: name no login or tree and
		// highlight no one.
		return []chat.Line{chat.Line{}.Text("CC'd on restricted ").Bold(fmt.Sprintf("bug %d", id)).Text(", details withheld ").Link("", r.d.Render.BugURL(id))}
	}
	l := chat.Line{}.Text("CC'd on ").Bold(fmt.Sprintf("bug %d", id)).Text(": ").QuoteCode(r.logins(req.In, strings.Split(added, ", "))).Text(" ").Link("", r.d.Render.BugURL(id))
	for i, t := range named {
		if i == 0 {
			l = l.Text(" | ")
		} else {
			l = l.Text("; ")
		}
		l = l.Mention(trees.Highlight(t))
	}
	return []chat.Line{l}
}

// loginIn reports whether login is in list, by policy.SameAddress: the
// comparison for deciding whom to CC (a login without a domain, or at
// another domain, is another person).
func loginIn(login string, list []string) bool {
	return slices.ContainsFunc(list, func(l string) bool { return policy.SameAddress(l, login) })
}
