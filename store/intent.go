// SPDX-License-Identifier: GPL-3.0-or-later

// What the outbox holds: intents (what to tell a channel about which
// bugs), built for a channel or from a rendered message.

package store

import (
	"time"

	"github.com/ksecbot/ksecbot/chat"
)

// Intent is one outbox row: what to tell a channel about which bugs, not
// the words. The deliverer renders it when it sends it, from the mirror and
// the channel configuration of that moment, through package policy: a bug
// restricted after it was queued, or a channel made public by a reload, is
// shown as it is then.
//
// Its JSON is a superset of the chat.Outgoing rows older versions queued,
// which therefore read as intents that carry Lines.
type Intent struct {
	// Key makes the message exactly-once, "<kind>/<id>/<channel key>"
	// (chat.MessageKey); Matrix derives its transaction ID from it.
	Key     string    `json:"key"`
	Kind    chat.Kind `json:"kind"`
	Channel string    `json:"channel"` // chat.Channel.Key
	// BugIDs are the bugs the message is about (announce, change and
	// remind: one; digest: the burst).
	BugIDs []int `json:"bugs,omitempty"`
	// Event is the change a change line is about.
	Event *EventData `json:"event,omitempty"`
	// Due is the due time a reminder is for (part of its key).
	Due time.Time `json:"due,omitzero"`
	// Lines and Detail hold text rendered when queued: rows from before
	// intents, and notices. They are sent as they are only while the
	// channel may see every bug in BugIDs in full.
	Lines  []chat.Line `json:"lines,omitempty"`
	Detail []chat.Line `json:"detail,omitempty"`
	// CVE is what a kernel CVE watch line is about (kind chat.KindCVE).
	CVE *CVEIntent `json:"cve,omitempty"`
}

// What a kernel CVE watch line says.
const (
	CVENew      = "new"      // a record that affects a tree was published
	CVEChanged  = "changed"  // a record changed and now affects more trees
	CVERejected = "rejected" // a record announced before was rejected
	CVEDigest   = "digest"   // many records in one scan: per tree
)

// CVEIntent is a kernel CVE watch line: which records, rendered at send
// time from the records and the trees as they are then.
type CVEIntent struct {
	What string   `json:"what"` // one of the CVE* constants
	IDs  []string `json:"ids"`
	// Trees are, for a changed record, the trees it newly affects (the
	// only ones the line highlights).
	Trees []string `json:"trees,omitempty"`
	// Others counts the scan's new or changed records that affect no
	// tree (a digest says so).
	Others int `json:"others,omitempty"`
}

// EventData is what a change line needs of its event.
type EventData struct {
	ID   int64  `json:"id"`
	Kind string `json:"kind"` // one of the Event* constants
	Old  string `json:"old,omitempty"`
	New  string `json:"new,omitempty"`
}

// Data returns the event's data for an intent.
func (e Event) Data() *EventData {
	return &EventData{ID: e.ID, Kind: e.Kind, Old: e.Old, New: e.New}
}

// ChannelIntent builds the intent of a kind about bugs for a channel, with
// the exactly-once key chat.MessageKey(kind, id, channel): id names what
// it is about (a bug number, an event number).
func ChannelIntent(ch chat.Channel, kind chat.Kind, id string, bugs ...int) Intent {
	return Intent{Key: chat.MessageKey(kind, id, ch.Key), Kind: kind, Channel: ch.Key, BugIDs: bugs}
}

// TextIntent wraps a rendered message as an intent (see Intent.Lines).
func TextIntent(m chat.Outgoing) Intent {
	return Intent{Key: m.Key, Kind: m.Kind, Channel: m.Channel, BugIDs: m.BugIDs, Lines: m.Lines, Detail: m.Detail}
}
