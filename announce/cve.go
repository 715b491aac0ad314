// SPDX-License-Identifier: GPL-3.0-or-later

package announce

import (
	"strings"

	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/policy"
	"github.com/ksecbot/ksecbot/store"
)

// CVEAnnotator is the hook through which the kernel CVE feature adds to
// the announcement of a bug shown in full: the renderer calls it at send
// time and never for withheld lines, so a restricted bug's CVE reaches
// only the channels that see the bug in full.
type CVEAnnotator interface {
	// AnnotateBug returns what the CVEs the bug names mean for the trees;
	// ok is false when the bug names no CVE with a record. It gets the
	// bug only as shown in full (policy.Full).
	AnnotateBug(f policy.Full) (CVENote, bool)
}

// CVEFeedRenderer renders the kernel CVE watch's lines (store.CVEIntent)
// for a channel at send time, from the records and the trees as they are
// then. Intent asks it only for channels that get the feed
// (policy.CVEFeed). ok is false when there is nothing to say.
type CVEFeedRenderer interface {
	RenderCVE(in store.CVEIntent, ch chat.Channel) (lines, detail []chat.Line, ok bool)
}

// CVENote is the kernel CVE part of an announcement.
type CVENote struct {
	// Text is the fix summary: "CVE-2025-71238 fixed in 5.10.251,
	// 6.1.164, 7.0".
	Text string
	// Verdicts holds each tree's verdict by lower-case tree name:
	// "affected", "fixed", "unaffected", "unknown", possibly with a note
	// ("affected; fixed in 5.10.255, stable 5.10.250 still affected").
	Verdicts map[string]string
	// Quiet holds the lower-case names of the trees that are named with
	// their verdict but not highlighted (fixed or unaffected, with
	// [kernel_cve] highlight = "affected").
	Quiet map[string]bool
}

// appendCVE adds the CVE note and the highlights to an announcement:
// " | <text> | tree: nicks (verdict); ... | not pinged: tree fixed, ...".
func appendCVE(l chat.Line, note CVENote, hs []chat.Highlight) chat.Line {
	l = l.Text(" | " + Clean(note.Text, 300))
	var loud []chat.Highlight
	var quiet []string
	for _, h := range hs {
		name := strings.ToLower(h.Tree)
		if note.Quiet[name] {
			quiet = append(quiet, strings.TrimSpace(h.Tree+" "+note.Verdicts[name]))
			continue
		}
		loud = append(loud, h)
	}
	for i, h := range loud {
		if i == 0 {
			l = l.Text(" | ")
		} else {
			l = l.Text("; ")
		}
		l = l.Mention(h)
		if v := note.Verdicts[strings.ToLower(h.Tree)]; v != "" {
			l = l.Text(" (" + v + ")")
		}
	}
	if len(quiet) > 0 {
		l = l.Text(" | not pinged: " + strings.Join(quiet, ", "))
	}
	return l
}
