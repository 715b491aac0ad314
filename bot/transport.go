// SPDX-License-Identifier: GPL-3.0-or-later

package bot

import "github.com/ksecbot/ksecbot/transport"

// The transport contract lives in package transport. These aliases are kept
// for compatibility, for one transition, so that code written against
// bot.Transport and friends keeps compiling; new code uses package
// transport.

// Transport is kept for compatibility: use transport.Transport.
type Transport = transport.Transport

// PartialError is kept for compatibility: use transport.PartialError.
type PartialError = transport.PartialError

// Inbox is kept for compatibility: use transport.Inbox.
type Inbox = transport.Inbox

// InboxFunc is kept for compatibility: use transport.InboxFunc.
type InboxFunc = transport.InboxFunc

// ChannelReloader is kept for compatibility: use transport.ChannelReloader.
type ChannelReloader = transport.ChannelReloader

// ErrPermanent is kept for compatibility: use transport.ErrPermanent. It is
// the same error value, so errors.Is matches either name.
var ErrPermanent = transport.ErrPermanent
