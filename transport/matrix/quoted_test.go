// SPDX-License-Identifier: GPL-3.0-or-later

package matrix

import (
	"slices"
	"strings"
	"testing"

	"maunium.net/go/mautrix/id"

	"github.com/ksecbot/ksecbot/chat"
)

// TestQuotedTextNeverMentions: Bugzilla text that names Matrix users (IDs,
// matrix.to links, pill HTML) stays text: only the tree's maintainers in a
// mention span are in m.mentions and get pills.
func TestQuotedTextNeverMentions(t *testing.T) {
	hostile := `@alice:example.org https://matrix.to/#/@carol:example.org <a href="https://matrix.to/#/@dave:example.org">dave</a> @room`
	out := chat.Outgoing{Key: "k", Lines: []chat.Line{
		chat.Line{}.Text("New bug: ").Quote(hostile).Text(" assigned to ").QuoteCode("@erin:example.org").Text(" | ").
			Mention(chat.Highlight{Tree: "hardened", Handles: map[string][]string{Name: []string{"@bob:example.org"}}}),
	}}
	c := Render(out)
	if c.Mentions == nil || !slices.Equal(c.Mentions.UserIDs, []id.UserID{"@bob:example.org"}) || c.Mentions.Room {
		t.Fatalf("m.mentions = %+v, want only @bob:example.org", c.Mentions)
	}
	for _, who := range []string{"alice", "carol", "dave", "erin"} {
		if strings.Contains(c.FormattedBody, `href="https://matrix.to/#/@`+who) {
			t.Errorf("formatted body links %s as a pill: %s", who, c.FormattedBody)
		}
	}
	if !strings.Contains(c.FormattedBody, `<a href="https://matrix.to/#/@bob:example.org">`) {
		t.Errorf("formatted body lacks the maintainer's pill: %s", c.FormattedBody)
	}
	if !strings.Contains(strings.ReplaceAll(c.Body, "\u200d", ""), hostile) {
		t.Errorf("body %q does not show the Bugzilla text as written", c.Body)
	}
	// Homeservers with the legacy push rules match user names and display
	// names as substrings of the body.
	for _, name := range []string{"alice", "carol", "dave", "erin", "room"} {
		if strings.Contains(c.Body, name) {
			t.Errorf("body %q contains the name %q, which legacy push rules would highlight", c.Body, name)
		}
	}

	quiet := Render(chat.Outgoing{Key: "q", Lines: []chat.Line{chat.Line{}.Quote(hostile)}})
	if quiet.Mentions == nil || len(quiet.Mentions.UserIDs) != 0 || quiet.Mentions.Room {
		t.Errorf("a line of Bugzilla text only has m.mentions %+v, want an explicit empty one", quiet.Mentions)
	}
}
