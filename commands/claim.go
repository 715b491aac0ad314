// SPDX-License-Identifier: GPL-3.0-or-later

package commands

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/ksecbot/ksecbot/bugzilla"
	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/policy"
)

// defaultsSeen returns the default assignees seen of a watch's component
// (the store keeps them), or the configured bugzilla.default_assignee
// when none was seen yet.
func (r *Router) defaultsSeen(ctx context.Context, watch string) []policy.Default {
	var out []policy.Default
	if r.d.Store != nil {
		seen, err := r.d.Store.DefaultHistory(ctx, watch)
		if err != nil {
			r.log.Warn("failed to read the component defaults seen", "err", err)
		}
		for _, d := range seen {
			out = append(out, policy.Default{Login: d.Login, Since: d.Since})
		}
	}
	if len(out) == 0 && r.cfg.Bugzilla.DefaultLogin != "" {
		out = []policy.Default{{Login: r.cfg.Bugzilla.DefaultLogin}}
	}
	return out
}

// unclaimed reports whether a bug is still with its component's default
// assignee as it is now or was when the bug was filed
// (policy.BugUnclaimed).
func (r *Router) unclaimed(ctx context.Context, b *bugzilla.Bug) bool {
	return policy.BugUnclaimed(b, r.defaultsSeen(ctx, b.Product+"/"+b.Component), r.cfg.Users)
}

// cmdClaim implements !claim [--force] [bug].
func (r *Router) cmdClaim(ctx context.Context, req *Request) []chat.Line {
	force := false
	explicit := 0
	for _, a := range req.Args {
		switch {
		case a == "--force" || a == "-f":
			force = true
		case strings.HasPrefix(a, "-"):
			return []chat.Line{r.argError("claim", "there is no option "+quoteArg(a)+" (only --force)")}
		case explicit != 0:
			return []chat.Line{r.argError("claim", "one bug at a time")}
		default:
			id, bad := r.bugArg("claim", a)
			if bad != nil {
				return []chat.Line{bad}
			}
			explicit = id
		}
	}
	wr := policy.WriteRequest{Command: policy.WriteClaim, Force: force}
	// (--force without the role is refused before any read)
	id, b, unlock, msg := r.prepareWrite(ctx, req, wr, explicit)
	if msg != nil {
		return []chat.Line{msg}
	}
	defer unlock()
	login := req.Caller.Login
	if policy.SameAddress(b.AssignedTo, login) {
		r.audit(ctx, req, id, "no-op: already assigned to caller", "")
		return []chat.Line{chat.Line{}.Bold(fmt.Sprintf("Bug %d", id)).Text(" is already assigned to you (").QuoteCode(r.login(req.In, login)).Text("); nothing changed.")}
	}
	if !r.unclaimed(ctx, b) && !force {
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
	if len(req.Args) == 0 {
		return []chat.Line{r.argError("unclaim", "which bug? Give its number")}
	}
	if len(req.Args) > 1 {
		return []chat.Line{r.argError("unclaim", "one bug at a time")}
	}
	id, bad := r.bugArg("unclaim", req.Args[0])
	if bad != nil {
		return []chat.Line{bad}
	}
	b, unlock, msg := r.lockWritable(ctx, req, id)
	if msg != nil {
		return []chat.Line{msg}
	}
	defer unlock()
	if msg := r.checkWrite(ctx, req, policy.WriteRequest{}, id, b); msg != nil {
		return []chat.Line{msg} // restricted: not even whether it is claimed
	}
	if r.unclaimed(ctx, b) {
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
