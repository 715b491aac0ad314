// SPDX-License-Identifier: GPL-3.0-or-later

// Package console is the terminal transport: announcements print on the
// terminal and typed lines are commands, as in a private channel whose only
// member is the local operator (used by --console and `ksecbot demo`).
package console

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/transport"
)

// maxLine bounds one printed line; Bugzilla text is cut before this anyway.
const maxLine = 2000

// maxInput bounds one typed line; a longer one is refused with a notice
// and the console keeps reading.
const maxInput = 64 << 10

// answerWait bounds how long the console waits, once its input has ended,
// for the answers to the lines it read (a write command may take
// [commands] slow_after, 20 s, before its first answer).
const answerWait = 30 * time.Second

// stampLayout is the time in front of every printed line: with the date,
// since a console runs for days.
const stampLayout = "2006-01-02 15:04:05"

// readLine reads one line (without its newline) of at most limit bytes.
// A longer line is read to its end and dropped: size tells its length and
// the string is empty. err is the reader's error (io.EOF at the end), with
// the last unterminated line, if any, returned alongside it.
func readLine(br *bufio.Reader, limit int) (line string, size int, err error) {
	var buf []byte
	for {
		chunk, err := br.ReadSlice('\n')
		size += len(chunk)
		if size <= limit+1 { // +1: the newline
			buf = append(buf, chunk...)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		buf = bytes.TrimSuffix(bytes.TrimSuffix(buf, []byte("\n")), []byte("\r"))
		if n := len(chunk); n > 0 && chunk[n-1] == '\n' {
			size--
		}
		if size > limit {
			return "", size, err
		}
		return string(buf), size, err
	}
}

// notice prints a line from the console itself (not from the bot).
func (t *Transport) notice(msg string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	fmt.Fprintf(t.out, "%s %s\n", t.now().Format(stampLayout), msg)
}

// Transport reads commands from In and prints messages on Out.
type Transport struct {
	in      io.Reader
	out     io.Writer
	private bool
	cveFeed bool
	now     func() time.Time
	ended   func()
	// Done is closed when the input ends (Ctrl-D) .
	Done chan struct{}

	mu        sync.Mutex
	connected bool
	seq       int
	awaiting  map[string]bool // IDs of lines read and not answered yet
	answered  chan struct{}   // signalled when an awaited line is answered
}

// Options configures a console transport.
type Options struct {
	In  io.Reader
	Out io.Writer
	// Private lets the console see restricted bugs in full (default for
	// the local operator).
	Private bool
	// CVEFeed: the console gets the kernel CVE watch's lines.
	CVEFeed bool
	Now     func() time.Time
	// InputEnded, if set, is called once the input has ended (Ctrl-D)
	// and the lines read were answered, or answerWait has passed.
	InputEnded func()
}

// New returns a console transport.
func New(o Options) *Transport {
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Transport{in: o.In, out: o.Out, private: o.Private, cveFeed: o.CVEFeed, now: o.Now, ended: o.InputEnded,
		Done: make(chan struct{}), awaiting: map[string]bool{}, answered: make(chan struct{}, 1)}
}

var _ transport.Transport = (*Transport)(nil)

// Network returns chat.NetConsole.
func (t *Transport) Network() string { return chat.NetConsole }

// Channel is the console's single channel.
func (t *Transport) Channel() chat.Channel {
	return chat.Channel{Key: chat.ChannelKey(chat.NetConsole, ""), Network: chat.NetConsole, Name: "console", Private: t.private, Previews: true, CVEFeed: t.cveFeed}
}

// Channels returns the console channel.
func (t *Transport) Channels() []chat.Channel { return []chat.Channel{t.Channel()} }

// Connected is true while the console runs.
func (t *Transport) Connected() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.connected
}

// Run reads lines until ctx is done or the input ends; every non-empty
// line goes to the inbox as a command of the operator.
func (t *Transport) Run(ctx context.Context, in transport.Inbox) error {
	t.mu.Lock()
	t.connected = true
	t.mu.Unlock()
	defer func() {
		t.mu.Lock()
		t.connected = false
		t.mu.Unlock()
	}()
	lines := make(chan string)
	go func() {
		defer close(t.Done)
		br := bufio.NewReaderSize(t.in, 4096)
		for {
			l, size, err := readLine(br, maxInput)
			if size > maxInput {
				// Too long to be a command: say so and go on reading.
				t.notice(fmt.Sprintf("That line has %d bytes, more than a command may have (%d bytes, 64 KiB); it was ignored. Type a command such as !help.", size, maxInput))
			} else if l != "" || err == nil {
				select {
				case lines <- l:
				case <-ctx.Done():
					return
				}
			}
			if err != nil {
				return // end of input (Ctrl-D) or a read error
			}
		}
	}()
	ch := t.Channel()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.Done:
			if t.ended != nil {
				t.waitAnswers(ctx)
				t.ended()
			}
			<-ctx.Done()
			return nil
		case l := <-lines:
			l = chat.Sanitize(l)
			if l == "" {
				continue
			}
			t.mu.Lock()
			t.seq++
			id := fmt.Sprintf("console-%d-%d", t.now().UnixNano(), t.seq)
			if t.ended != nil { // only an input that ends waits for answers
				t.awaiting[id] = true
			}
			t.mu.Unlock()
			in.Receive(ctx, chat.Incoming{
				Channel: ch,
				Target:  "console",
				Sender:  chat.Identity{Network: chat.NetConsole, Account: "console", Nick: "operator", Operator: true},
				Text:    l,
				ID:      id,
			})
		}
	}
}

// waitAnswers waits until every line read has been answered, at most
// answerWait: a line that is no command gets no answer.
func (t *Transport) waitAnswers(ctx context.Context) {
	t.mu.Lock()
	n := len(t.awaiting)
	t.mu.Unlock()
	if n == 0 {
		return
	}
	t.notice(fmt.Sprintf("Input ended; waiting for the answers to what was typed (at most %s).", answerWait))
	deadline := time.NewTimer(answerWait)
	defer deadline.Stop()
	for {
		t.mu.Lock()
		n := len(t.awaiting)
		t.mu.Unlock()
		if n == 0 {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-deadline.C:
			return
		case <-t.answered:
		}
	}
}

// Send prints the message, one line per chat line, with untrusted text
// cleaned so Bugzilla text cannot drive the terminal (no escape codes).
func (t *Transport) Send(ctx context.Context, out chat.Outgoing) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.awaiting[out.ReplyTo] {
		delete(t.awaiting, out.ReplyTo)
		select {
		case t.answered <- struct{}{}:
		default:
		}
	}
	if transport.Expired(out, t.now()) {
		return "", transport.ErrExpired
	}
	stamp := t.now().Format(stampLayout)
	for i, l := range append(append([]chat.Line(nil), out.Lines...), out.Detail...) {
		indent := ""
		if i >= len(out.Lines) {
			indent = "  - "
		}
		if _, err := fmt.Fprintf(t.out, "%s %s%s\n", stamp, indent, Render(l)); err != nil {
			return "", fmt.Errorf("failed to write to the console: %w", err)
		}
	}
	return "", nil
}

// Render renders a line for a terminal: mentions show the tree and its
// maintainers' handles on every network, in the order of the networks'
// names ("@hardened(blueness,zorry)"), everything is cleaned.
func Render(l chat.Line) string {
	var b strings.Builder
	for _, s := range l {
		switch s.Kind {
		case chat.SpanMention:
			h := s.Highlight
			if h == nil {
				continue
			}
			b.WriteString("@" + h.Tree)
			var handles []string
			for _, n := range slices.Sorted(maps.Keys(h.Handles)) {
				handles = append(handles, h.Handles[n]...)
			}
			if len(handles) > 0 {
				b.WriteString("(" + strings.Join(handles, ",") + ")")
			}
		case chat.SpanLink:
			if s.URL != "" {
				b.WriteString(s.URL)
			} else {
				b.WriteString(s.Text)
			}
		default:
			b.WriteString(s.Text)
		}
	}
	return chat.Clean(b.String(), maxLine)
}
