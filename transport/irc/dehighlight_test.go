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

// Word characters of clients that highlight whole words: HexChat (nick
// characters too), WeeChat (alphanumerics, "-", "_", "|"), irssi
// (everything but ASCII space and punctuation).
var clientWordChars = map[string]string{
	"HexChat": `\p{L}\p{N}\-\[\]\\` + "`" + `^_{|}`,
	"WeeChat": `\p{L}\p{N}\-_|`,
	"irssi":   `\p{L}\p{N}\x{80}-\x{10FFFF}`,
}

// TestDehighlightNoWholeWordNick: a hostile summary full of the nicks of
// the channel's members (and of a maintainer the line does not mention)
// matches none of them as a whole word afterwards, in any client; each of
// those words got one chat.NoPing after its first letter and every other
// byte is as Bugzilla has it: atoms, CVE ids, paths, URLs, other words.
func TestDehighlightNoWholeWordNick(t *testing.T) {
	members := []string{"alice", "Blueness", "x_y", "[bob]", "dev-1", "kernel", "e", "lice", "carol"}
	maintainer := "mpagano" // not here, not mentioned: still never pinged by text
	hostile := "alice: mpagano,blueness! x_y [bob] dev-1 sys-kernel/gentoo-sources CVE-2024-50001 /usr/src/linux " +
		"https://github.com/alice/x <alice> (mpagano) e.g. alice's MPAGANO {bob}|x_y xcarol _carol use-after-free"
	quiet := chat.NewNames(runeFolder(CaseRFC1459), members...)
	quiet.Add(maintainer)
	out := Render(chat.Line{}.Text("New bug: ").Quote(hostile), true, quiet)
	url := "https://github.com/alice/x"
	for client, class := range clientWordChars {
		for _, n := range append(members, maintainer) {
			// a URL is left whole: a character in it would break the link
			if wholeWord(strings.Replace(out, url, "", 1), n, class) {
				t.Errorf("%s would highlight %q in %q", client, n, out)
			}
		}
	}
	if strings.ReplaceAll(out, string(chat.NoPing), "") != "New bug: "+hostile {
		t.Errorf("the text reads differently: %q", out)
	}
	for _, keep := range []string{"sys-k" + string(chat.NoPing) + "ernel/gentoo-sources", "CVE-2024-50001", "/usr/src/linux", url, "use-after-free", "xcarol"} {
		if !strings.Contains(out, keep) {
			t.Errorf("%q lost %q: %q", hostile, keep, out)
		}
	}
	if n := strings.Count(out, string(chat.NoPing)); n != 15 {
		t.Errorf("%d characters added, want one in each of the 15 whole-word names: %q", n, out)
	}
	if got := Render(chat.Line{}.Quote(hostile), true, nil); got != hostile {
		t.Errorf("with nobody to spare the text changed: %q", got)
	}
}

// TestRenderHighlightOncePerLine: a nick listed by two trees (or twice) is
// pinged once; the repeat is written with chat.NoPing. Text that names
// the nick does not ping it either.
func TestRenderHighlightOncePerLine(t *testing.T) {
	l := chat.Line{}.Text("CC'd mpagano's trees | ").
		Mention(chat.Highlight{Tree: "gentoo-sources", Handles: map[string][]string{Name: []string{"mpagano", "MPagano"}}}).Text("; ").
		Mention(chat.Highlight{Tree: "vanilla", Handles: map[string][]string{Name: []string{"mpagano", "alicef"}}})
	got := Render(l, false, chat.NewNames(runeFolder(CaseRFC1459), "mpagano", "alicef"))
	want := "CC'd m" + string(chat.NoPing) + "pagano's trees | gentoo-sources: mpagano " + chat.Break("MPagano") + "; vanilla: " + chat.Break("mpagano") + " alicef"
	if got != want {
		t.Errorf("Render = %q, want %q", got, want)
	}
}

// TestRenderTreeLabelPingsNobody: the tree label the bot writes before
// the maintainers' nicks does not ping a member named like the tree; the
// maintainer is pinged.
func TestRenderTreeLabelPingsNobody(t *testing.T) {
	l := chat.Line{}.Text("New bug 1 | ").Mention(chat.Highlight{Tree: "hardened", Handles: map[string][]string{Name: []string{"hmaint"}}})
	got := Render(l, true, chat.NewNames(runeFolder(CaseRFC1459), "hardened", "hmaint"))
	if want := "New bug 1 | h" + string(chat.NoPing) + "ardened: hmaint"; got != want {
		t.Errorf("Render = %q, want %q", got, want)
	}
}
