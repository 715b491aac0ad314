// SPDX-License-Identifier: GPL-3.0-or-later

package commands

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/ksecbot/ksecbot/bugzilla"
	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/config"
	"github.com/ksecbot/ksecbot/policy"
	"github.com/ksecbot/ksecbot/store"
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
		wr.Restricted = policy.Restricted(b)
	}
	d := r.writes.Write(wr)
	if d.Allowed {
		return nil
	}
	r.audit(ctx, req, id, "refused: "+d.Reason, "")
	r.log.Info("command refused", "command", req.Name, "bug", id, "account", req.In.Sender.Account,
		"network", req.In.Sender.Network, "channel", req.In.Channel.Key, "reason", d.Reason)
	return chat.Line{}.Text(r.refusal(req.Name, req.Caller, d, id, wr.Assignee, req.In.Channel))
}

// login renders a Bugzilla login for the place a request came from, as
// the policy lets it show logins: the address in private channels, the
// login name without domain in public channels and private messages.
func (r *Router) login(in chat.Incoming, login string) string {
	return cleanShort(policy.ShowLogin(login, in.Channel))
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

// prepareWrite takes the steps every write command takes before it
// writes: the write policy as if the bug were public (refused before any
// read), the target bug, its lock and a fresh read, then the policy again
// with the bug as Bugzilla shows it now. On success (msg nil) the caller
// must call unlock; on failure msg is the reply and nothing is held.
func (r *Router) prepareWrite(ctx context.Context, req *Request, wr policy.WriteRequest, explicit int) (id int, b *bugzilla.Bug, unlock func(), msg chat.Line) {
	if msg := r.checkWrite(ctx, req, wr, explicit, nil); msg != nil {
		return 0, nil, nil, msg
	}
	id, msg = r.targetBug(ctx, req, explicit)
	if msg != nil {
		return 0, nil, nil, msg
	}
	b, unlock, msg = r.lockWritable(ctx, req, id)
	if msg != nil {
		return 0, nil, nil, msg
	}
	if msg := r.checkWrite(ctx, req, wr, id, b); msg != nil {
		unlock()
		return 0, nil, nil, msg
	}
	return id, b, unlock, nil
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
		f, full := r.see(b, req.In.Channel).Full()
		if !full {
			return nil, nil, chat.Line{}.Text(fmt.Sprintf("Bug %d is not a kernel security bug that ksecbot watches; change it in Bugzilla.", id))
		}
		return nil, nil, chat.Line{}.Text(fmt.Sprintf("Bug %d is in %s / %s, which ksecbot does not watch; change it in Bugzilla.",
			id, cleanShort(f.Bug().Product), cleanShort(f.Bug().Component)))
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
	case in.Sender.Operator:
		return "the ksecbot console"
	case in.Direct:
		return "a private message on " + in.Sender.Network
	case in.Channel.Name != "":
		return in.Channel.Name
	}
	return in.Channel.Key
}
