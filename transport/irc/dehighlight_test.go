// SPDX-License-Identifier: GPL-3.0-or-later

package irc

import (
	"regexp"
	"strings"
	"testing"

	"github.com/ksecbot/ksecbot/chat"
)

// wholeWord reports whether nick appears in text as a whole word for a
// client whose word characters are wordChars (a regexp class body).
func wholeWord(text, nick, wordChars string) bool {
	re := regexp.MustCompile(`(?i)(^|[^` + wordChars + `])` + regexp.QuoteMeta(nick) + `($|[^` + wordChars + `])`)
	return re.MatchString(text)
}

// TestDehighlightNoWholeWordNick: a hostile summary full of nicks matches
// none of them as a whole word afterwards, whether a client counts nick
// characters, only letters and digits, or only non-space as word
// characters.
func TestDehighlightNoWholeWordNick(t *testing.T) {
	nicks := []string{"alice", "mpagano", "blueness", "x_y", "[bob]", "dev-1", "Kernel", "sys", "ab", "_y", "lice", "carol"}
	// Nicks alone, in punctuation, in atoms, and after a crafted prefix
	// ("xcarol": a joiner after the first letter only would leave "carol").
	hostile := "alice: mpagano,blueness! x_y [bob] dev-1 sys-kernel/kernel-sources ab@example.org <alice> (mpagano) alice's MPAGANO [bob]|x_y xcarol _carol 1carol"
	out := Render(chat.Line{}.Text("New bug: ").Quote(hostile), true)
	for _, n := range nicks {
		for _, class := range []string{`\p{L}\p{N}\-\[\]\\` + "`" + `^_{|}`, `\p{L}\p{N}`, `^\s`} {
			if wholeWord(out, n, class) {
				t.Errorf("nick %q is a whole word (word chars %s) in %q", n, class, out)
			}
		}
	}
	if !strings.HasPrefix(out, "New bug: ") {
		t.Errorf("our own text was changed: %q", out)
	}
	if strings.ReplaceAll(out, "\u200d", "") != "New bug: "+hostile {
		t.Errorf("the text reads differently: %q", out)
	}
}

// TestRenderHighlightOncePerLine: a nick listed by two trees (or twice) is
// pinged once; the repeat is written de-highlighted. Plain text that is
// not quoted is left alone.
func TestRenderHighlightOncePerLine(t *testing.T) {
	l := chat.Line{}.Text("CC'd mpagano's trees | ").
		Mention(chat.Highlight{Tree: "gentoo-sources", Handles: map[string][]string{Name: []string{"mpagano", "MPagano"}}}).Text("; ").
		Mention(chat.Highlight{Tree: "vanilla", Handles: map[string][]string{Name: []string{"mpagano", "alicef"}}})
	got := Render(l, false)
	want := "CC'd mpagano's trees | gentoo-sources: mpagano " + chat.Dehighlight("MPagano") + "; vanilla: " + chat.Dehighlight("mpagano") + " alicef"
	if got != want {
		t.Errorf("Render = %q, want %q", got, want)
	}
}
