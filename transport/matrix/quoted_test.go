// SPDX-License-Identifier: GPL-3.0-or-later

package matrix

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"maunium.net/go/mautrix/id"

	"github.com/ksecbot/ksecbot/chat"
)

// TestQuotedTextNeverMentions: Bugzilla text that names Matrix users (IDs,
// matrix.to links, pill HTML) stays text: only the tree's maintainers in a
// mention span are in m.mentions and get pills. The names of members get
// chat.NoPing in body and formatted_body; everything else is as written.
func TestQuotedTextNeverMentions(t *testing.T) {
	hostile := `@alice:example.org https://matrix.to/#/@carol:example.org <a href="https://matrix.to/#/@dave:example.org">dave</a> @room`
	out := chat.Outgoing{Key: "k", Lines: []chat.Line{
		chat.Line{}.Text("New bug: ").Quote(hostile).Text(" assigned to ").QuoteCode("@erin:example.org").Text(" | ").
			Mention(chat.Highlight{Tree: "hardened", Handles: map[string][]string{Name: []string{"@bob:example.org"}}}),
	}}
	// as if alice, carol, dave and erin were members of the room
	c := Render(out, chat.NewNames(nil, "alice", "carol", "dave", "erin", roomMention))
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
	np := string(chat.NoPing)
	const carolURL = "https://matrix.to/#/@carol:example.org"
	if !strings.Contains(strings.ReplaceAll(c.Body, np, ""), hostile) {
		t.Errorf("body %q does not show the Bugzilla text as written", c.Body)
	}
	// Homeservers with the legacy push rules (Dendrite 0.13) match user
	// names and display names in the body, and "@room".
	urls := regexp.MustCompile(`https://matrix.to/#/@[a-z]+:example.org`) // a URL stays whole
	text, html := urls.ReplaceAllString(c.Body, ""), urls.ReplaceAllString(c.FormattedBody, "")
	for _, name := range []string{"alice", "carol", "dave", "erin", "@room"} {
		if strings.Contains(text, name) || strings.Contains(html, name+"<") || strings.Contains(html, name+" ") || strings.Contains(html, name+":") {
			t.Errorf("the event contains the name %q, which legacy push rules would highlight:\n%q\n%q", name, c.Body, c.FormattedBody)
		}
	}
	// The URL of a link in the text stays whole.
	if !strings.Contains(c.Body, carolURL) {
		t.Errorf("the link in the text was broken: %q", c.Body)
	}

	quiet := Render(chat.Outgoing{Key: "q", Lines: []chat.Line{chat.Line{}.Quote(hostile)}}, nil)
	if quiet.Mentions == nil || len(quiet.Mentions.UserIDs) != 0 || quiet.Mentions.Room {
		t.Errorf("a line of Bugzilla text only has m.mentions %+v, want an explicit empty one", quiet.Mentions)
	}
	if quiet.Body != hostile {
		t.Errorf("with no member named in it, the body %q is not the text as written", quiet.Body)
	}
}
