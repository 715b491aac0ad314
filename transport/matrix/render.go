// SPDX-License-Identifier: GPL-3.0-or-later

package matrix

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"html"
	"net/url"
	"strings"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ksecbot/ksecbot/chat"
)

// TxnID returns the transaction ID for an outgoing message. It depends only
// on the message's key, so a retry or a restart sends the same ID and the
// homeserver does not post the message twice. Messages without a key get an
// ID derived from their content.
func TxnID(out chat.Outgoing) string {
	key := out.Key
	if key == "" {
		b, _ := json.Marshal(out)
		key = "content/" + string(b)
	}
	sum := sha256.Sum256([]byte(key))
	return "ksecbot-" + hex.EncodeToString(sum[:])[:32]
}

// Render builds the Matrix event content for an outgoing message: a plain
// body and an HTML formatted_body that carry the text as it is, except
// that each word equal to a name in quiet (the room's members' display
// names and user names, see Transport.quietFor) gets chat.NoPing after its
// first letter (chat.Line.Quieted): homeservers and clients that still
// apply the legacy "body contains my name" push rules (Dendrite 0.13, a
// client that ignores m.mentions) must not highlight anyone named in a
// summary. In the formatted_body every string is escaped, pills
// and m.mentions for the maintainers in mention spans (and only for them:
// text never becomes a mention), and an explicit empty m.mentions when
// nobody is mentioned. Detail lines follow the lines in the same event:
// "- " body lines and an HTML list. A ReplyTo makes it a Matrix reply that
// does not mention the asker.
//
// A message that mentions anyone is an m.text: the default push rule
// .m.rule.suppress_notices comes before every mention rule, so an m.notice
// would notify nobody. Everything else (routine replies, announcements with
// nobody to highlight) is an m.notice, which clients show quietly.
func Render(out chat.Outgoing, quiet *chat.Names) *event.MessageEventContent {
	// Every span through the one sanitiser (chat.Sanitize): no control
	// characters or IRC formatting reach the room, whatever the caller
	// cleaned.
	out.Lines, out.Detail = quieted(out.Lines, quiet), quieted(out.Detail, quiet)
	body := make([]string, 0, len(out.Lines))
	htm := make([]string, 0, len(out.Lines))
	mentions := &event.Mentions{}
	for i := 0; i < len(out.Lines); i++ {
		l := out.Lines[i]
		body = append(body, l.Plain(Name))
		if !l.IsRow() {
			htm = append(htm, renderLineHTML(l, mentions))
			continue
		}
		// Consecutive table rows (chat.SpanCell) make one HTML table,
		// the first row its header.
		var t strings.Builder
		t.WriteString("<table>")
		for first := true; i < len(out.Lines) && out.Lines[i].IsRow(); i++ {
			cell := "td"
			if first {
				cell = "th"
			} else {
				body = append(body, out.Lines[i].Plain(Name))
			}
			first = false
			t.WriteString("<tr>")
			for _, c := range splitCells(out.Lines[i]) {
				t.WriteString("<" + cell + ">" + renderLineHTML(c, mentions) + "</" + cell + ">")
			}
			t.WriteString("</tr>")
		}
		i--
		t.WriteString("</table>")
		htm = append(htm, t.String())
	}
	formatted := strings.Join(htm, "<br>")
	if len(out.Detail) > 0 {
		// Detail lines (e.g. the bugs of a digest) go into the same event:
		// as extra body lines and as an HTML list.
		var list strings.Builder
		list.WriteString("<ul>")
		for _, l := range out.Detail {
			body = append(body, "- "+l.Plain(Name))
			list.WriteString("<li>" + renderLineHTML(l, mentions) + "</li>")
		}
		list.WriteString("</ul>")
		formatted += list.String()
	}
	msgType := event.MsgNotice
	if len(mentions.UserIDs) > 0 {
		msgType = event.MsgText
	}
	content := &event.MessageEventContent{
		MsgType:       msgType,
		Body:          strings.Join(body, "\n"),
		Format:        event.FormatHTML,
		FormattedBody: formatted,
		Mentions:      mentions,
	}
	if out.ReplyTo != "" {
		content.RelatesTo = &event.RelatesTo{InReplyTo: &event.InReplyTo{EventID: id.EventID(out.ReplyTo)}}
	}
	return content
}

// quieted returns the lines sanitised and quieted (chat.Line.Quieted).
func quieted(ls []chat.Line, quiet *chat.Names) []chat.Line {
	if ls == nil {
		return nil
	}
	out := make([]chat.Line, len(ls))
	for i, l := range ls {
		out[i] = l.Sanitized().Quieted(Name, quiet)
	}
	return out
}

// splitCells cuts a table row at its cell ends; text after the last cell
// end is one more cell when not empty.
func splitCells(l chat.Line) []chat.Line {
	var out []chat.Line
	var cur chat.Line
	for _, s := range l {
		if s.Kind == chat.SpanCell {
			out = append(out, cur)
			cur = nil
			continue
		}
		cur = append(cur, s)
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

func renderLineHTML(l chat.Line, mentions *event.Mentions) string {
	var b strings.Builder
	for _, s := range l {
		switch s.Kind {
		case chat.SpanBold:
			b.WriteString("<b>" + html.EscapeString(s.Text) + "</b>")
		case chat.SpanCode:
			b.WriteString("<code>" + html.EscapeString(s.Text) + "</code>")
		case chat.SpanLink:
			target, label := s.URL, s.Text
			if target == "" {
				target = s.Text
			}
			if label == "" {
				label = target
			}
			if safeURL(target) {
				b.WriteString(`<a href="` + html.EscapeString(target) + `">` + html.EscapeString(label) + "</a>")
			} else {
				b.WriteString(html.EscapeString(target))
			}
		case chat.SpanMention:
			b.WriteString(renderMentionHTML(s.Highlight, mentions))
		default:
			b.WriteString(html.EscapeString(s.Text))
		}
	}
	return b.String()
}

// renderMentionHTML writes "tree: " and one pill per valid Matrix ID, and
// adds those IDs to mentions. Invalid IDs are shown as text, unmentioned.
func renderMentionHTML(h *chat.Highlight, mentions *event.Mentions) string {
	if h == nil {
		return ""
	}
	ids := h.Handles[Name]
	if len(ids) == 0 {
		return html.EscapeString(h.Tree)
	}
	parts := make([]string, 0, len(ids))
	for _, raw := range ids {
		uid := id.UserID(raw)
		if _, _, err := uid.Parse(); err != nil {
			parts = append(parts, html.EscapeString(raw))
			continue
		}
		mentions.Add(uid)
		parts = append(parts, `<a href="`+html.EscapeString("https://matrix.to/#/"+raw)+`">`+html.EscapeString(raw)+"</a>")
	}
	pills := strings.Join(parts, " ")
	if h.Tree == "" {
		return pills
	}
	return html.EscapeString(h.Tree) + ": " + pills
}

// safeURL reports whether a link target may go into an href.
func safeURL(s string) bool {
	u, err := url.Parse(s)
	if err != nil {
		return false
	}
	return (u.Scheme == "https" || u.Scheme == "http") && u.Host != ""
}
