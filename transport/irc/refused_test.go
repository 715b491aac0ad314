// SPDX-License-Identifier: GPL-3.0-or-later

package irc_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ksecbot/ksecbot/bugzilla/bugzillatest"
	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/internal/irctest"
	"github.com/ksecbot/ksecbot/internal/memnet"
	"github.com/ksecbot/ksecbot/transport"
	"github.com/ksecbot/ksecbot/transport/irc"
)

// A channel the bot is in that refuses its lines (+m: 404 cannot send to
// channel) loses nothing and is reported: the private channel of another
// network (memnet, the security team's room) is told once, /healthz
// (still 200) and /metrics name the channel; when the channel lets the
// bot speak again the waiting announcement goes out, one "can send ...
// again" line follows, and /healthz no longer names it.
func TestModeratedChannelReported(t *testing.T) {
	t.Parallel()
	s := irctest.Need(t)
	ch := irctest.RandName("#amod")
	op := irctest.NewObserver(t, s.Addr, irctest.Options{})
	op.Join(t, ch, "")
	mem := memnet.NewServer()
	team := memnet.New(mem, []chat.Channel{{Name: "#kernel-security", Private: true}})
	cb := startCoreBotWith(t, s.Addr, lenient, irc.Options{}, []transport.Transport{team}, irc.Channel{Name: ch})
	op.WaitFor(t, 20*time.Second, "bot JOIN "+ch, irctest.From("JOIN", cb.nick, ch))
	web := httptest.NewServer(cb.bot.HTTP.Handler())
	t.Cleanup(web.Close)

	if err := op.Conn.Send("MODE", ch, "+m"); err != nil {
		t.Fatal(err)
	}
	op.WaitFor(t, 10*time.Second, "MODE +m", irctest.From("MODE", op.Conn.CurrentNick(), ch))
	id := cb.bz.CreateBug(bugzillatest.NewBug{Summary: "sys-kernel/gentoo-sources: filed while the channel is moderated"})
	cannot := "cannot send to " + ch + " on irc"
	until(t, 30*time.Second, "the alert in the other network's private channel", func() bool {
		return countIn(mem.Posted("#kernel-security"), cannot) > 0
	})
	code, body := getURL(t, web.URL+"/healthz")
	t.Logf("/healthz: %d %q", code, body)
	if code != http.StatusOK || !strings.Contains(body, "degraded: irc:"+ch+": refuses lines since") || !strings.Contains(body, "404") {
		t.Errorf("/healthz with a moderated channel: %d %q, want 200 naming the channel and the 404", code, body)
	}
	sample := fmt.Sprintf(`ksecbot_channel_trouble{channel=%q,network="irc",what="refuses_lines"} 1`, ch)
	if _, m := getURL(t, web.URL+"/metrics"); !strings.Contains(m, sample) {
		t.Errorf("/metrics lacks %s", sample)
	}

	if err := op.Conn.Send("MODE", ch, "-m"); err != nil {
		t.Fatal(err)
	}
	op.WaitFor(t, 90*time.Second, fmt.Sprintf("the announcement of bug %d after -m", id), irctest.PrivmsgFrom(cb.nick, ch, fmt.Sprintf("bug %d:", id)))
	again := "can send to " + ch + " on irc again"
	until(t, 30*time.Second, "the recovery line in the other network's private channel", func() bool {
		return countIn(mem.Posted("#kernel-security"), again) > 0
	})
	got := mem.Posted("#kernel-security")
	if countIn(got, cannot) != 1 || countIn(got, again) != 1 {
		t.Errorf("the private channel got %q, want one alert and one recovery line", got)
	}
	for _, l := range got {
		if strings.Contains(l, cannot) && !strings.Contains(l, "voice") {
			t.Errorf("the alert does not say what to do: %q", l)
		}
	}
	if code, body := getURL(t, web.URL+"/healthz"); code != http.StatusOK || strings.Contains(body, ch) {
		t.Errorf("/healthz after -m: %d %q, want 200 without the channel", code, body)
	}
}

func getURL(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
