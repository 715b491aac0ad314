// SPDX-License-Identifier: GPL-3.0-or-later

// Package chat holds the transport-neutral message types that flow between
// the core (package bot), the command handlers (package commands) and the
// transports (transport/irc, transport/matrix, transport/console).
//
// Text that came from Bugzilla is untrusted: it is carried here as plain
// strings and every transport renders it safely for its own wire format
// (sanitised single lines on IRC, escaped HTML on Matrix).
package chat

import (
	"strings"
	"time"
)

// NetConsole is the network name of the local console. The other
// networks name themselves (the Name of their registration): the core
// never needs to know which networks there are.
const NetConsole = "console"

// Channel describes one place ksecbot talks in: an IRC channel, a Matrix
// room or the console. Key is stable and unique across networks, e.g.
// "irc:#gentoo-kernel", "matrix:!abc:example.org" or "console".
type Channel struct {
	Key      string // network-qualified identifier, used in the store
	Network  string // the transport's network name (Transport.Network)
	Name     string // channel name or room ID/alias as configured
	Private  bool   // may show restricted bugs in full
	Previews bool   // bug-link previews enabled ("previews" key)
	Notice   bool   // IRC: send NOTICE instead of PRIVMSG
	// CVEFeed: the channel gets the kernel CVE watch's lines (new,
	// changed and rejected kernel CNA records that affect a tree).
	CVEFeed bool
	// Terse marks a network where every line costs (IRC's flood limits,
	// one line per message): answers stay short, with no tables.
	Terse bool
}

// ChannelKey builds the store key for a channel on a network.
func ChannelKey(network, name string) string {
	if network == NetConsole {
		return NetConsole
	}
	return network + ":" + name
}

// SpanKind says how a Span is rendered.
type SpanKind int

// Span kinds.
const (
	SpanText     SpanKind = iota // plain text (may be untrusted)
	SpanBold                     // emphasised text (bug ids, labels)
	SpanLink                     // a URL; Text is the URL (or label), URL the target
	SpanMention                  // a tree's maintainers; see Highlight
	SpanCode                     // monospace text (logins, atoms)
	SpanSeverity                 // a Bugzilla severity; IRC may colour it
	// SpanCell ends a table cell: a line holding cells is a table row.
	// Its Text (" | ") is what plain renderers show; Matrix renders
	// consecutive rows as one HTML table, the first row as its header.
	SpanCell
)

// Span is one piece of a rich line.
type Span struct {
	Kind      SpanKind   `json:"k,omitempty"`
	Text      string     `json:"t,omitempty"`
	URL       string     `json:"u,omitempty"`
	Highlight *Highlight `json:"h,omitempty"`
	// Quoted marks text that came from Bugzilla (a summary, a login, a
	// whiteboard). No text span pings anyone, quoted or not: transports
	// put chat.NoPing into the names of the people present (Line.Quieted)
	// and Matrix never turns text into a mention. Only SpanMention
	// highlights.
	Quoted bool `json:"q,omitempty"`
}

// Highlight names the people to ping for one kernel tree (or one person).
// Handles holds their handles per network name (the name a transport
// reports from Network): nicks on IRC, user IDs on Matrix. Each transport
// picks the handles of its own network.
type Highlight struct {
	Tree    string              `json:"tree,omitempty"`
	Handles map[string][]string `json:"handles,omitempty"`
}

// Line is one line of output: a sequence of spans.
type Line []Span

// Text appends plain text to the line.
func (l Line) Text(s string) Line { return append(l, Span{Kind: SpanText, Text: s}) }

// Quote appends plain text that came from Bugzilla: transports show it
// but never let it highlight anyone (see Span.Quoted).
func (l Line) Quote(s string) Line { return append(l, Span{Kind: SpanText, Text: s, Quoted: true}) }

// QuoteCode appends monospace text that came from Bugzilla, such as a
// login (see Quote).
func (l Line) QuoteCode(s string) Line {
	return append(l, Span{Kind: SpanCode, Text: s, Quoted: true})
}

// Bold appends emphasised text to the line.
func (l Line) Bold(s string) Line { return append(l, Span{Kind: SpanBold, Text: s}) }

// Code appends monospace text to the line.
func (l Line) Code(s string) Line { return append(l, Span{Kind: SpanCode, Text: s}) }

// Severity appends a bug severity ("critical", "major", ...) to the line.
func (l Line) Severity(s string) Line { return append(l, Span{Kind: SpanSeverity, Text: s}) }

// Cell ends the current table cell (see SpanCell).
func (l Line) Cell() Line { return append(l, Span{Kind: SpanCell, Text: " | "}) }

// IsRow reports whether the line is a table row (holds a cell end).
func (l Line) IsRow() bool {
	for _, s := range l {
		if s.Kind == SpanCell {
			return true
		}
	}
	return false
}

// Link appends a URL to the line.
func (l Line) Link(label, url string) Line {
	return append(l, Span{Kind: SpanLink, Text: label, URL: url})
}

// Mention appends a highlight of a tree's maintainers to the line.
func (l Line) Mention(h Highlight) Line {
	hh := h
	return append(l, Span{Kind: SpanMention, Highlight: &hh})
}

// Plain renders the line as plain text with mentions written as the
// tree name followed by the given network's identities. It does not
// sanitise: transports do that.
func (l Line) Plain(network string) string {
	var b strings.Builder
	for _, s := range l {
		switch s.Kind {
		case SpanMention:
			b.WriteString(MentionText(s.Highlight, network))
		case SpanLink:
			if s.URL != "" {
				b.WriteString(s.URL)
			} else {
				b.WriteString(s.Text)
			}
		default:
			b.WriteString(s.Text)
		}
	}
	return b.String()
}

// MentionText renders a highlight as plain text for a network: the tree
// name followed by the handles listed for that network, or the tree name
// alone when nobody on that network is listed.
func MentionText(h *Highlight, network string) string {
	if h == nil {
		return ""
	}
	ids := h.Handles[network]
	if len(ids) == 0 {
		if h.Tree != "" {
			return h.Tree
		}
		return ""
	}
	if h.Tree == "" {
		return strings.Join(ids, " ")
	}
	return h.Tree + ": " + strings.Join(ids, " ")
}

// Kind classifies outgoing messages; it decides priority and formatting.
type Kind string

// Message kinds.
const (
	KindAnnounce Kind = "announce" // a new bug
	KindChange   Kind = "change"   // an important change of a known bug
	KindDigest   Kind = "digest"   // several new bugs at once
	KindRemind   Kind = "remind"   // an unclaimed bug, re-highlighted
	KindReply    Kind = "reply"    // an answer to a command
	KindPreview  Kind = "preview"  // a bug-link preview
	KindSystem   Kind = "system"   // about ksecbot itself (degraded mode, held-back auto-CC): private channels only
	KindCVE      Kind = "cve"      // the kernel CVE watch: new, changed or rejected kernel CNA records
)

// Outgoing is one message to send to one channel (or user, for replies to
// private messages). Lines are sent as separate IRC lines and as one Matrix
// event.
type Outgoing struct {
	// Key identifies the message for exactly-once delivery: Matrix derives
	// its transaction ID from it. Announcements use "announce/<bug>/<chan>".
	Key     string `json:"key"`
	Kind    Kind   `json:"kind"`
	Channel string `json:"channel"` // Channel.Key
	Target  string `json:"target"`  // network target: IRC channel or nick, Matrix room ID
	Lines   []Line `json:"lines"`   // at least one
	// Detail holds extra lines for transports that show one message with
	// many lines (Matrix, console): e.g. the list of bugs in a digest. IRC
	// sends only Lines, to stay within flood limits.
	Detail  []Line   `json:"detail,omitempty"`
	BugIDs  []int    `json:"bugs,omitempty"`  // bugs the message is about (for replies/claims)
	ReplyTo string   `json:"reply,omitempty"` // network message ID this answers (Matrix event ID)
	Notice  bool     `json:"notice,omitempty"`
	Extra   []string `json:"extra,omitempty"` // reserved for transport hints
	// Quiet holds, per network name, handles this message must not ping
	// outside its mention spans: every tree's maintainers. The core sets
	// it when it sends; the transport adds the people present in the
	// channel (see Line.Quieted). Not stored.
	Quiet map[string][]string `json:"-"`
	// Expires, when set, is when a message that has not begun to go out
	// is no longer worth sending (a command's reply, a minute after the
	// command): the transport drops it and returns transport.ErrExpired.
	// A message already partly sent is finished. Not stored.
	Expires time.Time `json:"-"`
	// Resume is how many network lines of this message an earlier
	// attempt already delivered (an IRC transport that reported a
	// partial send): the transport sends the rest. Not stored.
	Resume int `json:"-"`
}

// ChannelMessage builds the message of a kind about bugs for a channel.
// Its key, "<kind>/<id>/<channel key>", makes it exactly-once: id names
// what it is about (a bug number, an event number).
func ChannelMessage(ch Channel, kind Kind, id string, line Line, bugs ...int) Outgoing {
	return Outgoing{
		Key:     MessageKey(kind, id, ch.Key),
		Kind:    kind,
		Channel: ch.Key,
		Target:  ch.Name,
		Lines:   []Line{line},
		BugIDs:  bugs,
		Notice:  ch.Notice,
	}
}

// MessageKey is the exactly-once key of a channel message,
// "<kind>/<id>/<channel key>": id names what it is about (a bug number, an
// event number, a bug and a due time).
func MessageKey(kind Kind, id, channelKey string) string {
	return string(kind) + "/" + id + "/" + channelKey
}

// Plain renders every line as plain text for a network.
func (o Outgoing) Plain(network string) []string {
	out := make([]string, 0, len(o.Lines))
	for _, l := range o.Lines {
		out = append(out, l.Plain(network))
	}
	return out
}

// Identity is who sent a message, as authenticated by the network: on IRC
// the services account (never the bare nick), on Matrix the event sender,
// on the console the local operator.
type Identity struct {
	Network string // the transport's network name (Transport.Network)
	// Account is the authenticated name: the IRC services account, the
	// Matrix user ID, or "console". Empty when the user is not identified.
	Account string
	// Nick is the display handle (IRC nick, Matrix ID); never used for
	// authorization.
	Nick string
	// Host is the sender's host as the network shows it (IRC), or "".
	// Never used for authorization; it groups unidentified senders for
	// the command rate limit.
	Host string
	// Kind is what the network calls an account, for people ("IRC
	// account", "Matrix user"); "" means "account".
	Kind string
	// HowToIdentify tells an unidentified sender how to become
	// identified on this network ("log in to your account (/msg NickServ
	// IDENTIFY ...)"), or "" when the network always identifies senders.
	HowToIdentify string
	// Operator marks the person who runs the bot, as the network vouches
	// (the console's terminal): an admin acting as the login their
	// network's section names (config.Operator). Only such a network
	// sets it.
	Operator bool
}

// AccountKind returns Kind, or "account" when the network gave none.
func (i Identity) AccountKind() string {
	if i.Kind == "" {
		return "account"
	}
	return i.Kind
}

// Identified reports whether the network vouches for the sender.
func (i Identity) Identified() bool { return i.Account != "" }

// Incoming is a message a transport received and hands to the core.
type Incoming struct {
	Channel Channel  // where it was said; for private messages Channel.Key is "<net>:<nick>" and Direct is true
	Target  string   // where a reply goes: the channel, or the sender's nick / DM room
	Direct  bool     // a private message
	Sender  Identity // who said it
	Text    string   // the message text, through Sanitize (one line, no formatting)
	ID      string   // network message ID (Matrix event ID), if any
	// ReplyTo is the network ID of the message this one replies to (a
	// Matrix reply or the root of the Matrix thread it is in, an IRC
	// +draft/reply tag), or "". The core maps it to the bugs that message
	// was about.
	ReplyTo string
	// Edits is the network ID of an earlier message this one corrects
	// (a Matrix edit), or "". The core serves it like a new message,
	// except that a write it already started is not done again.
	Edits string
	// Redacts is the network ID of an earlier message that was withdrawn
	// (a Matrix redaction), or ""; Text is then empty. The core drops
	// that message if it has not started serving it.
	Redacts string
}
