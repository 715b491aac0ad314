// SPDX-License-Identifier: GPL-3.0-or-later

package matrix

import (
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"strings"

	"github.com/rs/zerolog"
)

// mautrixLogger returns the zerolog logger handed to mautrix (the client,
// and through it the crypto machine and its store): its warnings and
// errors go to log, so a key that cannot be shared or a sync that keeps
// failing inside the library shows in ksecbot's own log. Less than a
// warning is dropped: mautrix logs every request at debug level.
func mautrixLogger(log *slog.Logger) zerolog.Logger {
	return zerolog.New(slogWriter{log: log.With("from", "mautrix")}).Level(zerolog.WarnLevel)
}

// slogWriter turns zerolog's JSON lines into slog records.
type slogWriter struct{ log *slog.Logger }

// Write implements io.Writer for events without a level.
func (w slogWriter) Write(p []byte) (int, error) { return w.WriteLevel(zerolog.NoLevel, p) }

// WriteLevel implements zerolog.LevelWriter: one call per event, p being
// the event as one JSON object.
func (w slogWriter) WriteLevel(l zerolog.Level, p []byte) (int, error) {
	var fields map[string]any
	if err := json.Unmarshal(p, &fields); err != nil {
		w.log.Warn(strings.TrimSpace(string(p)))
		return len(p), nil
	}
	msg, _ := fields[zerolog.MessageFieldName].(string)
	level := slog.LevelWarn
	if l >= zerolog.ErrorLevel && l != zerolog.NoLevel {
		level = slog.LevelError
	}
	switch {
	case retryingRateLimit(msg, fields):
		// A 429 that mautrix waits out: the transport logs each rate
		// limit episode once (ratelimit.go), not every retry.
		level = slog.LevelDebug
	case msg == "Failed to decrypt event":
		level = slog.LevelDebug // the transport logs it once per session (onDecryptError)
	case msg == "Didn't find olm session to encrypt group session":
		level = slog.LevelDebug // a first look, before mautrix makes the session
	case canceled(msg, fields):
		level = slog.LevelDebug // the bot is stopping (or gave up a request itself)
	}
	delete(fields, zerolog.MessageFieldName)
	delete(fields, zerolog.LevelFieldName)
	delete(fields, zerolog.TimestampFieldName)
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	attrs := make([]any, 0, 2*len(keys))
	for _, k := range keys {
		attrs = append(attrs, k, fields[k])
	}
	w.log.Log(context.Background(), level, msg, attrs...)
	return len(p), nil
}

// canceled reports whether an event is about a request or job cut short by
// its context: mautrix's "Request canceled", or an error saying so.
func canceled(msg string, fields map[string]any) bool {
	e, _ := fields[zerolog.ErrorFieldName].(string)
	return msg == "Request canceled" || strings.Contains(e, context.Canceled.Error())
}

// retryingRateLimit reports whether an event is mautrix saying it will
// retry a request the homeserver answered 429.
func retryingRateLimit(msg string, fields map[string]any) bool {
	e, _ := fields[zerolog.ErrorFieldName].(string)
	return msg == "Request failed, retrying" && strings.Contains(e, "429")
}
