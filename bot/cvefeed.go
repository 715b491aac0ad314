// SPDX-License-Identifier: GPL-3.0-or-later

package bot

// The CVE watch's decisions: which records of a scan are announced, and
// the feed lines queued for them.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"

	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/config"
	"github.com/ksecbot/ksecbot/cvereport"
	"github.com/ksecbot/ksecbot/kernelcve"
	"github.com/ksecbot/ksecbot/policy"
	"github.com/ksecbot/ksecbot/store"
)

// feedItem is a record to announce.
type feedItem struct {
	id, what, sum string
	trees         []string // changed: the trees newly affected
}

// changes handles the records added, changed or rejected since the last
// scan, and queues their lines in the same transaction that records them:
// a crash before it repeats the scan, after it the lines go out.
func (w *CVEWatch) changes(ctx context.Context, ch *cvereport.Checker, cfg *config.Config, entries []kernelcve.Entry, basis string, res *CVEScanResult) error {
	now := w.now()
	sc := store.CVEScan{Exposure: map[string][]store.CVEExposure{}, Basis: &basis}
	var items, followUps []feedItem
	for _, e := range entries {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		prev, had, err := w.store.CVERecord(ctx, e.ID)
		if err != nil {
			return err
		}
		j, ok := w.judge(ch, cfg.Trees, e)
		if !ok {
			res.Unreadable++
			continue
		}
		j.rec.Announced = prev.Announced
		sc.Exposure[e.ID] = j.rows
		switch {
		case had && prev.Sum == j.rec.Sum && prev.Rejected == e.Rejected:
			// rewritten, not changed (a checkout): the stamp only
		case e.Rejected && had && !prev.Rejected:
			res.Rejected++
			if !prev.Announced.IsZero() {
				followUps = append(followUps, feedItem{id: e.ID, what: store.CVERejected})
				res.FollowUps = append(res.FollowUps, e.ID)
			}
		case e.Rejected:
			// rejected before the watch saw it published: nothing to say
		case !had || prev.Rejected:
			res.New++
			if len(j.rec.Affects) == 0 {
				res.Others++
				break
			}
			items = append(items, feedItem{id: e.ID, what: store.CVENew, sum: j.rec.Sum})
			j.rec.Announced = now
		default:
			res.Changed++
			var newly []string
			for _, t := range j.rec.Affects {
				if !slices.Contains(prev.Affects, t) {
					newly = append(newly, t)
				}
			}
			if len(newly) == 0 {
				res.Others++
				break
			}
			items = append(items, feedItem{id: e.ID, what: store.CVEChanged, sum: j.rec.Sum, trees: newly})
			j.rec.Announced = now
		}
		sc.Records = append(sc.Records, j.rec)
	}
	for _, it := range items {
		res.Announced = append(res.Announced, it.id)
	}
	res.Digest = len(items) > cveDigestAfter(cfg)
	sc.Intents = w.intents(items, followUps, res.Digest, res.Others)
	if err := w.store.SaveCVEScan(ctx, sc); err != nil {
		return err
	}
	for _, r := range sc.Records {
		w.known[r.ID] = stampOfRecord(r)
	}
	w.basis = basis
	if len(sc.Intents) > 0 {
		w.wake.Queued()
	}
	return nil
}

// cveDigestMax is how many records a scan announces one by one when
// [announce] digest_after is 0 (digests off for bugs): a pull of hundreds
// of records must not become hundreds of lines.
const cveDigestMax = 20

// cveDigestAfter is how many records a scan announces one by one at most.
func cveDigestAfter(cfg *config.Config) int {
	if n := cfg.Announce.DigestAfter; n > 0 {
		return n
	}
	return cveDigestMax
}

// intents are the feed lines for every channel that gets the feed now:
// one per record, or one digest for them all; one per follow-up.
func (w *CVEWatch) intents(items, followUps []feedItem, digest bool, others int) []store.Intent {
	var out []store.Intent
	for _, ch := range w.channels() {
		if !policy.CVEFeed(ch) {
			continue
		}
		add := func(id string, in store.CVEIntent) {
			out = append(out, store.Intent{Key: chat.MessageKey(chat.KindCVE, id, ch.Key), Kind: chat.KindCVE, Channel: ch.Key, CVE: &in})
		}
		if digest {
			ids := make([]string, len(items))
			for i, it := range items {
				ids[i] = it.id
			}
			sum := sha256.Sum256([]byte(strings.Join(ids, " ")))
			add("digest-"+hex.EncodeToString(sum[:8]), store.CVEIntent{What: store.CVEDigest, IDs: ids, Others: others})
		} else {
			for _, it := range items {
				key := it.id
				if it.what == store.CVEChanged {
					key += "@" + it.sum[:16]
				}
				add(key, store.CVEIntent{What: it.what, IDs: []string{it.id}, Trees: it.trees})
			}
		}
		for _, it := range followUps {
			add(it.id+"-rejected", store.CVEIntent{What: store.CVERejected, IDs: []string{it.id}})
		}
	}
	return out
}
