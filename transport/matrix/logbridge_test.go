// SPDX-License-Identifier: GPL-3.0-or-later

package matrix

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix"
)

// TestMautrixLogBridged checks that mautrix's own warnings reach
// ksecbot's log (slog) with their fields, and that its debug chatter and
// the retries of a rate limit (logged once per episode by the transport)
// do not come at warning level.
func TestMautrixLogBridged(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))

	// A real mautrix client retrying a request to a port nobody listens on.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	cli, err := mautrix.NewClient("http://"+addr, "@bot:localhost", "token")
	if err != nil {
		t.Fatal(err)
	}
	cli.Log = mautrixLogger(log)
	cli.DefaultHTTPBackoff = 10 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := cli.Whoami(mautrix.WithMaxRetries(ctx, 1)); err == nil {
		t.Fatal("whoami against a closed port succeeded")
	}
	records := decode(t, &buf)
	var retry map[string]any
	for _, r := range records {
		if r["msg"] == "Request failed, retrying" {
			retry = r
		}
		if r["level"] == "DEBUG" && r["from"] == "mautrix" {
			t.Errorf("a mautrix debug record was logged: %v", r)
		}
	}
	if retry == nil || retry["level"] != "WARN" || retry["from"] != "mautrix" || !strings.Contains(retry["url"].(string), "/whoami") {
		t.Fatalf("mautrix's retry warning = %v, want a WARN record with from=mautrix and the url; all records: %v", retry, records)
	}

	// The same warning for a 429 goes to debug level.
	buf.Reset()
	zl := mautrixLogger(log)
	zl.Warn().Err(errString("HTTP 429")).Str("url", "http://x/send").Msg("Request failed, retrying")
	zl.Error().Str("room_id", "!r:x").Msg("Failed to share group session")
	records = decode(t, &buf)
	if len(records) != 2 || records[0]["level"] != "DEBUG" || records[1]["level"] != "ERROR" || records[1]["room_id"] != "!r:x" {
		t.Errorf("records = %v, want the 429 retry at DEBUG and the error at ERROR with its room_id", records)
	}
}

type errString string

func (e errString) Error() string { return string(e) }

func decode(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}
