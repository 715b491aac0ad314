// SPDX-License-Identifier: GPL-3.0-or-later

package bot_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ksecbot/ksecbot/bot"
	"github.com/ksecbot/ksecbot/bugzilla/bugzillatest"
	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/transport"
)

// edit hands the bot a correction of message orig, as the Matrix transport
// does for an edit.
func edit(b *bot.Bot, t transport.Transport, ch chat.Channel, who chat.Identity, id, orig, text string) {
	b.Commands.Receive(context.Background(), t, chat.Incoming{Channel: ch, Target: ch.Name, Sender: who, Text: text, ID: id, Edits: orig})
}

// withdraw hands the bot the withdrawal (a Matrix redaction) of message orig.
func withdraw(b *bot.Bot, t transport.Transport, ch chat.Channel, who chat.Identity, id, orig string) {
	b.Commands.Receive(context.Background(), t, chat.Incoming{Channel: ch, Target: ch.Name, Sender: who, ID: id, Redacts: orig})
}

// Edited and withdrawn commands, against the Bugzilla test server: a read
// command is answered again as edited; a write that was carried out is
// not done again as edited (the sender is told), while a read written
// over it is answered; a write still waiting for a worker (the write
// workers held by a hung Bugzilla) is replaced by its correction, which
// alone is done; a withdrawn write still waiting is dropped.
func TestEditedAndWithdrawnCommands(t *testing.T) {
	users := ""
	for _, u := range []string{"alice", "erin", "hang0", "hang1", "hang2", "hang3"} {
		users += fmt.Sprintf("[[user]]\nbugzilla = %q\nirc_account = %q\nroles = [\"security\"]\n", u+"@gentoo.org", u)
	}
	// Each sender may send 5 commands at once (commands.Router): the
	// steps below use several linked users.
	h := newHarness(t, users)
	for _, u := range []string{"erin", "hang0", "hang1", "hang2", "hang3"} {
		h.srv.AddUser(bugzillatest.User{Login: u + "@gentoo.org"})
	}
	bug := func(s string) int {
		return h.srv.CreateBug(bugzillatest.NewBug{Summary: "sys-kernel/gentoo-sources: " + s})
	}
	read, done, notDone, hung, waiting, fixed, gone, after := bug("read"), bug("claimed"), bug("not claimed by an edit"),
		bug("hangs"), bug("replaced by an edit"), bug("the edit's bug"), bug("withdrawn"), bug("after")
	rec := newRecorder("irc", "#gentoo-kernel")
	b, _ := h.start(rec)
	waitPolls(t, b, 1)
	ch := rec.channels[0]
	who := func(account string) chat.Identity {
		return chat.Identity{Network: "irc", Account: account, Nick: account}
	}
	alice, erin := who("alice"), who("erin")
	answered := func(id, what string) string {
		t.Helper()
		msgs := rec.waitFor(t, 20*time.Second, what, func(m []chat.Outgoing) bool { return len(replyTo(m, id)) > 0 })
		return strings.Join(replyTo(msgs, id), " | ")
	}
	// reads and writes of one bug (/rest/bug/N): a claim's; searches
	// (polls, reconciliation) are not counted.
	direct := func(id int) int {
		n := 0
		for _, r := range h.srv.Requests() {
			if r.Path == fmt.Sprintf("/rest/bug/%d", id) {
				n++
			}
		}
		return n
	}
	assignee := func(id int) string {
		got, _ := h.srv.Bug(id)
		return got.AssignedTo
	}

	// A read command, answered, then edited: answered again as edited.
	bob := chat.Identity{Network: "irc", Nick: "bob", Host: "bob.example.net"}
	say(b, rec, ch, bob, "r1", fmt.Sprintf("!bug %d", read))
	answered("r1", "the answer to !bug")
	edit(b, rec, ch, bob, "r1e", "r1", fmt.Sprintf("!bug %d", done))
	if r := answered("r1e", "the answer to the edited !bug"); !strings.Contains(r, fmt.Sprint(done)) {
		t.Errorf("the edited !bug was answered %q, want bug %d", r, done)
	}

	// A write carried out, then edited into another write: not done again.
	say(b, rec, ch, alice, "w1", fmt.Sprintf("!claim %d", done))
	answered("w1", "the claim's result")
	edit(b, rec, ch, alice, "w1e", "w1", fmt.Sprintf("!claim %d", notDone))
	if r := answered("w1e", "the answer to the edited claim"); !strings.Contains(r, "did not do it again") {
		t.Errorf("the edited claim was answered %q, want it refused as done already", r)
	}
	edit(b, rec, ch, alice, "w1r", "w1", fmt.Sprintf("!bug %d", notDone))
	answered("w1r", "the answer to the claim edited into a read")
	if got := assignee(notDone); got == "alice@gentoo.org" {
		t.Errorf("bug %d was claimed by an edit of a claim already carried out", notDone)
	}

	// Hold every write worker on a hung Bugzilla; the next writes wait.
	h.srv.SetFault(bugzillatest.Fault{Mode: bugzillatest.FaultHang, Path: fmt.Sprintf("/rest/bug/%d", hung)})
	before := direct(hung)
	for i := range 4 {
		say(b, rec, ch, who(fmt.Sprintf("hang%d", i)), fmt.Sprintf("h%d", i), fmt.Sprintf("!claim %d", hung))
	}
	waitUntil(t, 10*time.Second, "a claim to hang in Bugzilla", func() bool { return direct(hung) > before })
	say(b, rec, ch, erin, "q1", fmt.Sprintf("!claim %d", waiting))
	edit(b, rec, ch, erin, "q1e", "q1", fmt.Sprintf("!claim %d", fixed))
	say(b, rec, ch, erin, "q2", fmt.Sprintf("!claim %d", gone))
	withdraw(b, rec, ch, erin, "q2r", "q2")
	say(b, rec, ch, erin, "q3", fmt.Sprintf("!claim %d", after))
	h.srv.ClearFault()

	answered("q1e", "the corrected claim's result")
	answered("q3", "the last claim's result")
	if got := assignee(fixed); got != "erin@gentoo.org" {
		t.Errorf("the correction of a waiting claim was not done: bug %d assigned to %q", fixed, got)
	}
	msgs := rec.sentCopy()
	for _, id := range []string{"q1", "q2"} {
		if r := replyTo(msgs, id); len(r) > 0 {
			t.Errorf("the replaced or withdrawn command %s was answered: %q", id, r)
		}
	}
	for _, id := range []int{waiting, gone} {
		if n := direct(id); n != 0 || assignee(id) == "erin@gentoo.org" {
			t.Errorf("bug %d: %d requests, assignee %q; its claim was replaced or withdrawn before it started", id, n, assignee(id))
		}
	}
}
