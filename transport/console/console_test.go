// SPDX-License-Identifier: GPL-3.0-or-later

package console_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/transport"
	"github.com/ksecbot/ksecbot/transport/console"
)

// TestEndOfInputAfterTheAnswers types two commands and ends the input
// (Ctrl-D): InputEnded comes only once both are answered, the second one
// late, and every printed line starts with the date and time.
func TestEndOfInputAfterTheAnswers(t *testing.T) {
	now := time.Date(2026, 12, 8, 14, 3, 22, 0, time.Local)
	out := &syncBuffer{}
	ended := make(chan struct{})
	tr := console.New(console.Options{In: strings.NewReader("!one\n!two\n"), Out: out, Private: true,
		Now: func() time.Time { return now }, InputEnded: func() { close(ended) }})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	var got []chat.Incoming
	received := make(chan struct{}, 2)
	done := make(chan error, 1)
	go func() {
		done <- tr.Run(ctx, transport.InboxFunc(func(_ context.Context, in chat.Incoming) {
			mu.Lock()
			got = append(got, in)
			mu.Unlock()
			received <- struct{}{}
		}))
	}()
	<-received
	<-received
	answer := func(i int) {
		mu.Lock()
		in := got[i]
		mu.Unlock()
		if _, err := tr.Send(ctx, chat.Outgoing{Channel: in.Channel.Key, ReplyTo: in.ID, Lines: []chat.Line{chat.Line{}.Text("answer to " + in.Text)}}); err != nil {
			t.Fatal(err)
		}
	}
	answer(0)
	select {
	case <-ended:
		t.Fatal("the input ended before the second command was answered")
	case <-time.After(100 * time.Millisecond):
	}
	answer(1)
	select {
	case <-ended:
	case <-time.After(10 * time.Second):
		t.Fatal("InputEnded was not called once every command was answered")
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
	out.mu.Lock()
	printed := out.buf.String()
	out.mu.Unlock()
	if !strings.Contains(printed, "2026-12-08 14:03:22 answer to !two\n") {
		t.Errorf("printed:\n%s\nwant lines with the date and time", printed)
	}
}
