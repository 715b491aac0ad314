// SPDX-License-Identifier: GPL-3.0-or-later

package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"
)

// statusSamples is how many times the status page is fetched.
const statusSamples = 200

// statusPage is (h): GET / of the status page with the whole mirror. The
// first request of a window builds the page (as after a mirror change that
// is older than the page's MaxStale); the others are served from memory
// while background builds keep it fresh.
func (b *bench) statusPage(ctx context.Context, w *world, mirrored int) error {
	get := func(path string) (time.Duration, int, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+w.bot.httpAddr+path, nil)
		if err != nil {
			return 0, 0, err
		}
		t0 := time.Now()
		resp, err := httpClient.Do(req)
		if err != nil {
			return 0, 0, fmt.Errorf("status page: %w", err)
		}
		defer resp.Body.Close()
		n, err := io.Copy(io.Discard, resp.Body)
		d := time.Since(t0)
		if err != nil {
			return 0, 0, fmt.Errorf("status page: %w", err)
		}
		if resp.StatusCode != http.StatusOK {
			return 0, 0, fmt.Errorf("status page: GET %s: %s", path, resp.Status)
		}
		return d, int(n), nil
	}
	cold, size, err := get("/?days=90")
	if err != nil {
		return err
	}
	treeCold, treeSize, err := get("/tree/" + treeNames[0])
	if err != nil {
		return err
	}
	var warm []time.Duration
	for range statusSamples {
		d, _, err := get("/?days=90")
		if err != nil {
			return err
		}
		warm = append(warm, d)
	}
	ws := summarize(warm)
	slog.Info("status page", "first", cold, "bytes", size, "tree_first", treeCold, "tree_bytes", treeSize, "served", ws.String())
	b.rows = append(b.rows,
		row{what: fmt.Sprintf("(h) status page, %d bugs mirrored: first request, which builds it (%d kB)", mirrored, size/1000),
			measured: ms(cold), v: info},
		row{what: fmt.Sprintf("(h) status page, tree page %s: first request (%d kB)", treeNames[0], treeSize/1000),
			measured: ms(treeCold), v: info},
		row{what: fmt.Sprintf("(h) status page, %d requests while the page is current", statusSamples), target: "p99 < 50 ms",
			measured: ws.String(), v: check(ws.p99 < 50*time.Millisecond)})
	return nil
}
