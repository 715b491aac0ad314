// SPDX-License-Identifier: GPL-3.0-or-later

package matrix

import (
	"encoding/json"
	"strings"
	"testing"

	"maunium.net/go/mautrix/id"

	"github.com/ksecbot/ksecbot/chat"
)

func TestRender(t *testing.T) {
	kernel := chat.Highlight{Tree: "gentoo-sources", Handles: map[string][]string{Name: []string{"@kernel:example.org", "@alice:example.org"}}}
	tests := []struct {
		name         string
		out          chat.Outgoing
		wantBody     string
		wantHTML     string
		wantMentions []id.UserID
		wantReplyTo  id.EventID
		wantType     string // m.text when someone is highlighted, else m.notice
	}{
		{
			name: "announcement with mentions",
			out: chat.Outgoing{Lines: []chat.Line{
				chat.Line{}.Bold("Bug 123").Text(" CVE-2025-1: use-after-free in <net>").Mention(kernel),
				chat.Line{}.Link("", "https://bugs.gentoo.org/123").Text(" ").Code("sys-kernel/gentoo-sources"),
			}},
			wantBody: "Bug 123 CVE-2025-1: use-after-free in <net>gentoo-sources: @kernel:example.org @alice:example.org\n" +
				"https://bugs.gentoo.org/123 sys-kernel/gentoo-sources",
			wantHTML: `<b>Bug 123</b> CVE-2025-1: use-after-free in &lt;net&gt;gentoo-sources: ` +
				`<a href="https://matrix.to/#/@kernel:example.org">@kernel:example.org</a> ` +
				`<a href="https://matrix.to/#/@alice:example.org">@alice:example.org</a><br>` +
				`<a href="https://bugs.gentoo.org/123">https://bugs.gentoo.org/123</a> <code>sys-kernel/gentoo-sources</code>`,
			wantMentions: []id.UserID{"@kernel:example.org", "@alice:example.org"},
			wantType:     "m.text",
		},
		{
			name: "hostile bugzilla text stays text",
			out: chat.Outgoing{Lines: []chat.Line{chat.Line{}.Text(
				`<script>alert(1)</script> <a href="https://evil.example">x</a> <a href="https://matrix.to/#/@kernel:example.org">@kernel:example.org</a>`)}},
			wantBody: `<script>alert(1)</script> <a href="https://evil.example">x</a> <a href="https://matrix.to/#/@kernel:example.org">@kernel:example.org</a>`,
			wantHTML: `&lt;script&gt;alert(1)&lt;/script&gt; &lt;a href=&#34;https://evil.example&#34;&gt;x&lt;/a&gt; ` +
				`&lt;a href=&#34;https://matrix.to/#/@kernel:example.org&#34;&gt;@kernel:example.org&lt;/a&gt;`,
			wantType: "m.notice",
		},
		{
			name:     "javascript link is not a link",
			out:      chat.Outgoing{Lines: []chat.Line{chat.Line{}.Link("click", `javascript:alert("x")`)}},
			wantBody: `javascript:alert("x")`,
			wantHTML: `javascript:alert(&#34;x&#34;)`,
			wantType: "m.notice",
		},
		{
			name:        "reply does not mention the asker",
			out:         chat.Outgoing{ReplyTo: "$ask", Lines: []chat.Line{chat.Line{}.Text("claimed bug 5")}},
			wantBody:    "claimed bug 5",
			wantHTML:    "claimed bug 5",
			wantReplyTo: "$ask",
			wantType:    "m.notice",
		},
		{
			name: "digest detail lines are a list in the same event",
			out: chat.Outgoing{
				Lines: []chat.Line{chat.Line{}.Bold("3 new bugs").Text(" ").Mention(kernel)},
				Detail: []chat.Line{
					chat.Line{}.Bold("Bug 7").Text(" <b>x</b>"),
					chat.Line{}.Bold("Bug 8").Text(" y ").Link("", "https://bugs.gentoo.org/8"),
				},
			},
			wantBody: "3 new bugs gentoo-sources: @kernel:example.org @alice:example.org\n- Bug 7 <b>x</b>\n- Bug 8 y https://bugs.gentoo.org/8",
			wantHTML: `<b>3 new bugs</b> gentoo-sources: ` +
				`<a href="https://matrix.to/#/@kernel:example.org">@kernel:example.org</a> ` +
				`<a href="https://matrix.to/#/@alice:example.org">@alice:example.org</a>` +
				`<ul><li><b>Bug 7</b> &lt;b&gt;x&lt;/b&gt;</li>` +
				`<li><b>Bug 8</b> y <a href="https://bugs.gentoo.org/8">https://bugs.gentoo.org/8</a></li></ul>`,
			wantMentions: []id.UserID{"@kernel:example.org", "@alice:example.org"},
			wantType:     "m.text",
		},
		{
			name: "matrix ids in bugzilla text are not mentioned",
			out: chat.Outgoing{Lines: []chat.Line{chat.Line{}.Text("ask @mallory:example.org and @kernel:example.org ").Mention(
				chat.Highlight{Tree: "hardened", Handles: map[string][]string{Name: []string{"@hardy:example.org"}}})}},
			wantBody:     "ask @mallory:example.org and @kernel:example.org hardened: @hardy:example.org",
			wantHTML:     `ask @mallory:example.org and @kernel:example.org hardened: <a href="https://matrix.to/#/@hardy:example.org">@hardy:example.org</a>`,
			wantMentions: []id.UserID{"@hardy:example.org"},
			wantType:     "m.text",
		},
		{
			name:     "invalid matrix id is text and not mentioned",
			out:      chat.Outgoing{Lines: []chat.Line{chat.Line{}.Mention(chat.Highlight{Tree: "hardened", Handles: map[string][]string{Name: []string{"not-an-id"}}})}},
			wantBody: "hardened: not-an-id",
			wantHTML: "hardened: not-an-id",
			wantType: "m.notice",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Render(tt.out, nil)
			if string(c.MsgType) != tt.wantType {
				t.Errorf("msgtype = %q, want %s", c.MsgType, tt.wantType)
			}
			if c.Body != tt.wantBody {
				t.Errorf("body =\n%q\nwant\n%q", c.Body, tt.wantBody)
			}
			if c.FormattedBody != tt.wantHTML {
				t.Errorf("formatted_body =\n%s\nwant\n%s", c.FormattedBody, tt.wantHTML)
			}
			if c.Mentions == nil || strings.Join(idsToStrings(c.Mentions.UserIDs), ",") != strings.Join(idsToStrings(tt.wantMentions), ",") {
				t.Errorf("mentions = %+v, want %v", c.Mentions, tt.wantMentions)
			}
			if got := c.RelatesTo.GetReplyTo(); got != tt.wantReplyTo {
				t.Errorf("in_reply_to = %q, want %q", got, tt.wantReplyTo)
			}
			raw, err := json.Marshal(c)
			if err != nil {
				t.Fatal(err)
			}
			if len(tt.wantMentions) == 0 && !strings.Contains(string(raw), `"m.mentions":{}`) {
				t.Errorf("no explicit empty m.mentions in %s", raw)
			}
		})
	}
}

func idsToStrings(ids []id.UserID) []string {
	out := make([]string, len(ids))
	for i, u := range ids {
		out[i] = string(u)
	}
	return out
}

func TestTxnID(t *testing.T) {
	a := chat.Outgoing{Key: "announce/1/matrix:!r:x", Lines: []chat.Line{chat.Line{}.Text("a")}}
	b := a
	b.Lines = []chat.Line{chat.Line{}.Text("b")} // same key, other rendering: same transaction
	c := a
	c.Key = "announce/2/matrix:!r:x"
	if TxnID(a) != TxnID(b) {
		t.Errorf("same key gave different transaction IDs")
	}
	if TxnID(a) == TxnID(c) {
		t.Errorf("different keys gave the same transaction ID")
	}
	if !strings.HasPrefix(TxnID(a), "ksecbot-") || len(TxnID(a)) != len("ksecbot-")+32 {
		t.Errorf("txn id %q has the wrong shape", TxnID(a))
	}
}

// TestRenderTable: consecutive table rows (chat.SpanCell) become one HTML
// table with the first row as header, every cell escaped; the plain body
// keeps "a | b" rows.
func TestRenderTable(t *testing.T) {
	out := chat.Outgoing{Kind: chat.KindReply, Lines: []chat.Line{
		chat.Line{}.Bold("CVE-2025-71238").Text(": title"),
		chat.Line{}.Text("tree").Cell().Text("verdict").Cell().Text("versions"),
		chat.Line{}.Text("gentoo-kernel").Cell().Bold("affected").Cell().Text("5.10.250 <script>"),
		chat.Line{}.Text("vanilla").Cell().Bold("fixed").Cell().Text("7.2.5"),
		chat.Line{}.Text("after the table"),
	}}
	c := Render(out, nil)
	want := "<b>CVE-2025-71238</b>: title<br><table><tr><th>tree</th><th>verdict</th><th>versions</th></tr>" +
		"<tr><td>gentoo-kernel</td><td><b>affected</b></td><td>5.10.250 &lt;script&gt;</td></tr>" +
		"<tr><td>vanilla</td><td><b>fixed</b></td><td>7.2.5</td></tr></table><br>after the table"
	if c.FormattedBody != want {
		t.Errorf("formatted:\n got %s\nwant %s", c.FormattedBody, want)
	}
	wantBody := "CVE-2025-71238: title\ntree | verdict | versions\ngentoo-kernel | affected | 5.10.250 <script>\nvanilla | fixed | 7.2.5\nafter the table"
	if c.Body != wantBody {
		t.Errorf("body:\n got %q\nwant %q", c.Body, wantBody)
	}
}
