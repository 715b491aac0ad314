// SPDX-License-Identifier: GPL-3.0-or-later

// Package transport is the contract between ksecbot's core and a chat
// network: the Transport a network implements, the Inbox the core hands it
// for incoming messages, and the errors a transport reports.
//
// It imports only chat (the neutral message types) and config (the
// registration of a network's configuration section); a transport package (transport/irc,
// transport/matrix, transport/console) depends on this package and chat, never on
// package bot, so it builds without the store, the Bugzilla client, the
// commands or the metrics.
package transport

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/config"
)

// Transport is one chat network connection (IRC, Matrix, console). The core
// hands it outgoing messages and receives incoming ones through an Inbox.
//
// Implementations live in their own packages (transport/irc, transport/matrix,
// transport/console) and import nothing from the core but this package and chat.
type Transport interface {
	// Network returns the network's name (Network.Name of its
	// registration): "irc", "matrix", chat.NetConsole.
	Network() string
	// Channels returns the configured channels/rooms of this transport.
	Channels() []chat.Channel
	// Run connects, keeps the connection up (reconnecting with backoff) and
	// hands every incoming message to in. It returns nil when ctx is done,
	// or an error wrapping ErrPermanent when it cannot go on (bad
	// password, banned; also ErrConfig when the configuration is the
	// cause). The core may call Run again after it returned.
	Run(ctx context.Context, in Inbox) error
	// Send delivers one message and returns its network ID (Matrix event
	// ID; on IRC the msgids of its lines separated by spaces; "" where the
	// network has none) once the network accepted it: a person's reply to
	// the message names it, and the core finds the bugs the message was
	// about by it. It returns an error, without having sent anything, when
	// the network is not reachable now; the caller keeps the message and
	// tries again. Safe for concurrent use. On IRC, success means the
	// server confirmed every line (echo or PING fence); announcements,
	// reminders and digests go before queued command replies; a message
	// cut off half way returns a *PartialError and is resumed with
	// Outgoing.Resume. A message whose Outgoing.Expires passed before
	// any of it went out returns ErrExpired.
	Send(ctx context.Context, out chat.Outgoing) (id string, err error)
	// Connected reports whether the transport is connected now.
	Connected() bool
}

// PartialError is returned by Transport.Send when a message of several
// network lines was cut off after some of them reached the network: Done
// counts those from the message's first line (Outgoing.Resume included).
// The caller keeps the message and sends it again with Resume = Done, so
// the delivered lines are not repeated.
type PartialError struct {
	Done int
	Err  error
}

// Error describes the cut-off send.
func (e *PartialError) Error() string {
	return fmt.Sprintf("sent %d line(s), then: %v", e.Done, e.Err)
}

// Unwrap returns the cause.
func (e *PartialError) Unwrap() error { return e.Err }

// Inbox receives incoming messages from transports.
type Inbox interface {
	// Receive hands a message to the core. It does not block on slow work
	// (Bugzilla calls happen elsewhere), so transports may call it from
	// their read goroutine. Safe for concurrent use.
	Receive(ctx context.Context, msg chat.Incoming)
}

// InboxFunc adapts a function to the Inbox interface.
type InboxFunc func(ctx context.Context, msg chat.Incoming)

// Receive calls f.
func (f InboxFunc) Receive(ctx context.Context, msg chat.Incoming) { f(ctx, msg) }

// Alerts is implemented by an Inbox that wants to hear about channel
// trouble: a configured channel or room the transport cannot be in (banned,
// invite only, wrong key, full, kicked and the rejoin refused, a room join
// refused). The core's Inbox implements it and tells the people who run
// the bot, in the private channels of every network, once per episode.
// Transports check for it with a type assertion (a plain InboxFunc does
// not implement it) and keep retrying on their own; they log as before.
//
// A transport calls ChannelTrouble when its retrying has found a channel
// refused (it may call it again on later refusals: the receiver tells once
// per episode) and ChannelRecovered every time it is in a configured
// channel (after a JOIN, at every connection), which ends an episode
// (even one from before a restart) and is cheap when there was none.
// problem says what is wrong and what to do, in plain text for people
// (the server's reason, the numeric or error code, the fix: "banned (474);
// unban the bot"). Both return at once (the core queues the report; a
// transport may call them from its read loop); they are safe for
// concurrent use and must be called in the order the transport saw the
// events of one channel.
type Alerts interface {
	ChannelTrouble(ctx context.Context, ch chat.Channel, problem string)
	ChannelRecovered(ctx context.Context, ch chat.Channel)
}

// Warnings is implemented by an Inbox that wants to hear of a problem of
// the network itself that does not stop it (IRC: the NickServ password
// withheld because NickServ is not a network service there). The core's
// Inbox implements it and tells the private channels of every network,
// once per problem. It returns at once and is safe for concurrent use; a
// transport says each problem once per run and logs it itself.
type Warnings interface {
	NetworkWarning(ctx context.Context, network, problem string)
}

// ErrExpired is returned by Transport.Send for a message whose
// Outgoing.Expires passed before any of it went out: nothing was sent and
// the caller drops it.
var ErrExpired = errors.New("message expired before it could be sent")

// Expired reports whether out may no longer begin to go out at now.
func Expired(out chat.Outgoing, now time.Time) bool {
	return !out.Expires.IsZero() && !now.Before(out.Expires)
}

// ErrPermanent marks transport errors that retrying soon cannot fix (wrong
// SASL password, banned, invalid access token). The core stops only that
// network, tells the other networks' private channels, and runs it again
// hourly or on SIGHUP; it exits only when no network can run.
var ErrPermanent = errors.New("permanent transport error")

// ErrRefused marks a Send error where the network refused the line in a
// channel the bot is in (IRC: 404 cannot send to channel, a +m channel;
// Matrix: 403, a power level too low). Nothing reached the channel; the
// core keeps the message, retries the channel with backoff and tells the
// private channels once per episode.
var ErrRefused = errors.New("the channel refused the line")

// ErrConfig marks the permanent errors whose cause is the configuration or
// a secret (a password or token refused, a certificate not trusted, a
// server lacking what the table asks for): fixing the file fixes them, and
// a restart alone does not (the daemon's exit status 78 when no network
// can run).
var ErrConfig = errors.New("configuration problem")

// PermanentError is a permanent transport error (errors.Is ErrPermanent),
// caused by the configuration when Config is set (errors.Is ErrConfig).
// Its message is Err's.
type PermanentError struct {
	Err    error
	Config bool
}

// Permanent marks err as permanent, not caused by the configuration (a
// ban, a store that cannot be opened).
func Permanent(err error) error { return &PermanentError{Err: err} }

// Misconfigured marks err as permanent and caused by the configuration.
func Misconfigured(err error) error { return &PermanentError{Err: err, Config: true} }

// Error returns Err's message.
func (e *PermanentError) Error() string { return e.Err.Error() }

// Unwrap returns Err.
func (e *PermanentError) Unwrap() error { return e.Err }

// Is matches ErrPermanent, and ErrConfig when Config is set.
func (e *PermanentError) Is(target error) bool {
	return target == ErrPermanent || (e.Config && target == ErrConfig)
}

// ChannelReloader is implemented by transports that can change their
// channels or rooms without reconnecting (SIGHUP): given their new section
// (of the type their registration decodes; nil when the table is gone),
// they join the added ones, leave the removed ones and take the new
// per-channel settings (private, notice, previews, keys). needRestart
// reports that other settings of their section changed, which only a
// restart applies. Safe for concurrent use with Send and Run.
type ChannelReloader interface {
	ReloadChannels(sec config.Section) (needRestart bool, err error)
}
