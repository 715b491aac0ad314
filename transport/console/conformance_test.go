// SPDX-License-Identifier: GPL-3.0-or-later

package console_test

import (
	"bytes"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/internal/transporttest"
	"github.com/ksecbot/ksecbot/transport/console"
)

// syncBuffer is the terminal: what the console prints.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// lines returns the printed lines without their "2006-01-02 15:04:05 "
// time stamps.
func (b *syncBuffer) lines() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, l := range strings.Split(strings.TrimSuffix(b.buf.String(), "\n"), "\n") {
		if len(l) > len("2006-01-02 15:04:05 ") {
			out = append(out, l[len("2006-01-02 15:04:05 "):])
		}
	}
	return out
}

// TestConformance runs the transport conformance suite against the console:
// the operator types on standard input and reads standard output.
func TestConformance(t *testing.T) {
	transporttest.Run(t, func(t *testing.T) *transporttest.Network {
		r, w := io.Pipe()
		t.Cleanup(func() { w.Close() })
		out := &syncBuffer{}
		tr := console.New(console.Options{In: r, Out: out, Private: true})
		return &transporttest.Network{
			Transport: tr,
			Channel:   tr.Channel(),
			User:      chat.Identity{Network: chat.NetConsole, Account: "console"},
			Say: func(text string) bool {
				_, err := io.WriteString(w, text+"\n")
				return err == nil
			},
			Seen: out.lines,
		}
	})
}
