// SPDX-License-Identifier: GPL-3.0-or-later

package e2eirc

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ergochat/irc-go/ircmsg"

	"github.com/ksecbot/ksecbot/bugzilla/bugzillatest"
	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/e2e/e2etest"
	"github.com/ksecbot/ksecbot/internal/irctest"
)

// TestSummaryArrivesAsWritten: on the real server, an announcement whose
// summary holds a package atom, a CVE id, a path and the nick of a member
// of the channel arrives with the summary byte for byte, except one
// chat.NoPing in that nick. Checked from the members' clients (a nick is
// highlighted when it is a whole word, as WeeChat, irssi and HexChat
// match): the member named in the summary is not highlighted, nor the
// member whose nick is the name of a tree (the bot writes "tree: nick"),
// and the tree's maintainer is.
func TestSummaryArrivesAsWritten(t *testing.T) {
	t.Parallel()
	s := irctest.Need(t)
	bz := bugzillatest.New()
	t.Cleanup(bz.Close)
	ch := randName("#e2e-text")
	member := newObserver(t, s.Addr, randName("mem"), "")
	tree := newObserver(t, s.Addr, randName("tree"), "") // named like a tree
	maint := newObserver(t, s.Addr, randName("hm"), "")  // that tree's maintainer
	for _, o := range []*irctest.Observer{member, tree, maint} {
		o.Join(t, ch, "")
	}
	c := fastFlood(newConfig(t, bz, s.Addr, ch))
	c.Trees = append(append([]e2etest.Tree(nil), c.Trees...), e2etest.Tree{Name: tree.Nick(), Packages: []string{"sys-kernel/rt-sources"}, IRC: []string{maint.Nick()}})
	bot := startBot(t, c)
	bot.ready(t, member, ch)

	// names no tree's package: every tree is highlighted
	summary := fmt.Sprintf("sys-kernel/linux-firmware-20241110: use-after-free in nf_tables (CVE-2024-50001) in /usr/src/linux/net/netfilter/nf_tables_api.c, reported by %s", member.Nick())
	want := strings.Replace(summary, member.Nick(), chat.Break(member.Nick()), 1)
	id := bz.CreateBug(bugzillatest.NewBug{Summary: summary})
	for _, o := range []*irctest.Observer{member, tree, maint} {
		msg, _ := o.WaitFor(t, 20*time.Second, "the announcement", privmsgFrom(bot.nick, ch, fmt.Sprintf("bug %d", id)))
		raw := msg.Params[1]
		if !strings.Contains(raw, want) {
			t.Errorf("%s received %q, want the summary as written but for one %U in %s: %q", o.Nick(), raw, chat.NoPing, member.Nick(), want)
		}
		for _, n := range []string{member.Nick(), tree.Nick()} {
			if client := irctest.Highlighter(raw, n); client != "" {
				t.Errorf("%s received %q: %s would highlight %s", o.Nick(), raw, client, n)
			}
		}
		if !strings.Contains(raw, chat.Break(tree.Nick())+": "+maint.Nick()) || irctest.Highlighter(raw, maint.Nick()) == "" {
			t.Errorf("%s received %q: want the tree's maintainer %s highlighted after its label", o.Nick(), raw, maint.Nick())
		}
		t.Logf("%s received %q", o.Nick(), raw)
	}
}

// TestLongSummaryWhole: a 433-character summary is announced whole, in as
// few IRC lines as the line budget allows (two), each within the 512-byte
// line.
func TestLongSummaryWhole(t *testing.T) {
	t.Parallel()
	s := irctest.Need(t)
	bz := bugzillatest.New()
	t.Cleanup(bz.Close)
	ch := randName("#e2e-long")
	obs := newObserver(t, s.Addr, "", "")
	obs.Join(t, ch, "")
	bot := startBot(t, fastFlood(newConfig(t, bz, s.Addr, ch)))
	bot.ready(t, obs, ch)

	summary := "sys-kernel/gentoo-sources: net/sched: sch_qfq: use-after-free in qfq_dequeue() after qfq_change_class() " +
		"with a netem child qdisc (CVE-2025-38477); reachable by an unprivileged user in a user namespace with CAP_NET_ADMIN; " +
		"fixed upstream in 6.16-rc7, backported to 6.12.40, 6.6.100 and 6.1.147; affects every gentoo-sources kernel before " +
		"6.6.100 and 6.12.40; /proc/sys/kernel/unprivileged_userns_clone=0 mitigates (see also bug 945120)"
	if len(summary) != 433 {
		t.Fatalf("the summary has %d characters, want 433", len(summary))
	}
	id := bz.CreateBug(bugzillatest.NewBug{Summary: summary})
	first, _ := obs.WaitFor(t, 20*time.Second, "the announcement", privmsgFrom(bot.nick, ch, fmt.Sprintf("bug %d", id)))
	lines := []ircmsg.Message{first}
	for { // the rest of the announcement: its lines follow at once
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		m, _, _, err := obs.Next(ctx, irctest.From("PRIVMSG", bot.nick, ch))
		cancel()
		if err != nil {
			break
		}
		lines = append(lines, m)
	}
	var text []string
	for _, m := range lines {
		wire := len(":") + len(m.Source) + len(" PRIVMSG ") + len(ch) + len(" :") + len(m.Params[1]) + len("\r\n")
		if wire > 512 {
			t.Errorf("a line of %d bytes on the wire", wire)
		}
		text = append(text, plainText(m.Params[1]))
		t.Logf("%d bytes on the wire: %q", wire, m.Params[1])
	}
	if all := strings.Join(text, " "); !strings.Contains(all, summary) {
		t.Errorf("the summary is not shown whole in %q", all)
	}
	if len(lines) != 2 {
		t.Errorf("the announcement took %d lines, want 2", len(lines))
	}
}
