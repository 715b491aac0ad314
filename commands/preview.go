// SPDX-License-Identifier: GPL-3.0-or-later

package commands

import (
	"context"
	"regexp"
	"strconv"
	"strings"

	"github.com/ksecbot/ksecbot/chat"
)

// bugzillaHost returns a regexp alternation of the hosts of the configured
// Bugzilla URLs, or "".
func bugzillaHost(urls ...string) string {
	var hosts []string
	for _, u := range urls {
		_, rest, ok := strings.Cut(u, "://")
		if !ok {
			continue
		}
		host, _, _ := strings.Cut(rest, "/")
		host, _, _ = strings.Cut(host, ":")
		if host != "" && !hasString(hosts, regexp.QuoteMeta(host)) {
			hosts = append(hosts, regexp.QuoteMeta(host))
		}
	}
	return strings.Join(hosts, "|")
}

// previewsFor answers bug mentions ("bug 123456", show_bug URLs) in a
// channel with previews enabled, at most once per bug and channel per
// preview interval.
func (r *Router) previewsFor(ctx context.Context, in chat.Incoming, ids []int) []chat.Outgoing {
	var out []chat.Outgoing
	for _, id := range ids {
		if !r.previewDue(in.Channel.Key, id) {
			continue
		}
		b, err := r.lookupBug(ctx, id, in.Channel)
		if err != nil {
			r.log.Debug("no preview", "bug", id, "err", err)
			continue
		}
		o := r.reply(in, r.describe(b, in.Channel))
		o.Kind = chat.KindPreview
		o.Key = strings.Replace(o.Key, "reply/", "preview/", 1) + "/" + strconv.Itoa(id)
		o.BugIDs = []int{id}
		out = append(out, o)
	}
	return out
}

// previewIDs returns the bugs a message mentions that get a preview in
// its channel (at most maxPreviews), before the per-bug interval.
func (r *Router) previewIDs(in chat.Incoming) []int {
	if !in.Channel.Previews {
		return nil
	}
	var ids []int
	add := func(m [][]string) {
		for _, g := range m {
			if id, ok := parseBugID(g[1]); ok && !containsInt(ids, id) && len(ids) < maxPreviews {
				ids = append(ids, id)
			}
		}
	}
	add(r.bugRe.FindAllStringSubmatch(in.Text, -1))
	if r.urlRe != nil {
		add(r.urlRe.FindAllStringSubmatch(in.Text, -1))
	}
	return ids
}

// previewDue records and reports whether a bug may be previewed in a
// channel now.
func (r *Router) previewDue(channel string, id int) bool {
	now := r.now()
	key := channel + "\x00" + strconv.Itoa(id)
	r.mem.mu.Lock()
	defer r.mem.mu.Unlock()
	if last, ok := r.mem.previews[key]; ok && now.Sub(last) < r.prevGap {
		return false
	}
	if len(r.mem.previews) > 10000 {
		for k, t := range r.mem.previews {
			if now.Sub(t) >= r.prevGap {
				delete(r.mem.previews, k)
			}
		}
	}
	r.mem.previews[key] = now
	return true
}

func containsInt(list []int, n int) bool {
	for _, x := range list {
		if x == n {
			return true
		}
	}
	return false
}
