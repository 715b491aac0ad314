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
	fmt.Fprintf(t.out, "%s %s\n", t.now().Format("15:04:05"), msg)
}

// Transport reads commands from In and prints messages on Out.
type Transport struct {
	in      io.Reader
	out     io.Writer
	private bool
	cveFeed bool
	now     func() time.Time
	// Done is closed when the input ends (Ctrl-D) .
	Done chan struct{}

	mu        sync.Mutex
	connected bool
	seq       int
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
}

// New returns a console transport.
func New(o Options) *Transport {
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Transport{in: o.In, out: o.Out, private: o.Private, cveFeed: o.CVEFeed, now: o.Now, Done: make(chan struct{})}
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
				t.notice(fmt.Sprintf("That line was %d KiB long, over the %d KiB limit of a command; it was ignored. Type a command such as !help.", size>>10, maxInput>>10))
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

// Send prints the message, one line per chat line, with untrusted text
// cleaned so Bugzilla text cannot drive the terminal (no escape codes).
func (t *Transport) Send(ctx context.Context, out chat.Outgoing) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	stamp := t.now().Format("15:04:05")
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
