// SPDX-License-Identifier: GPL-3.0-or-later

package bugzilla

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
)

// Sentinel errors. Test for them with errors.Is; an *Error from Bugzilla
// matches the sentinel that its code or HTTP status stands for.
var (
	// ErrNotFound: the bug (code 101) or alias (code 100) does not exist.
	ErrNotFound = errors.New("bugzilla: bug not found")
	// ErrRestricted: the bug exists but the caller may not see it (code 102).
	ErrRestricted = errors.New("bugzilla: bug is restricted")
	// ErrPermission: the caller may not make this change (codes 109, 113,
	// 115, 120 and other HTTP 401 answers).
	ErrPermission = errors.New("bugzilla: permission denied")
	// ErrUnknownUser: a login named in the request does not exist (code 51).
	ErrUnknownUser = errors.New("bugzilla: unknown user")
	// ErrBadAPIKey: the API key is invalid or revoked (code 306).
	ErrBadAPIKey = errors.New("bugzilla: invalid API key")
	// ErrLoginRequired: the call needs a logged-in user (code 410).
	ErrLoginRequired = errors.New("bugzilla: login required")
	// ErrNoAPIKey: a write was asked for but no API key is configured; no
	// request was sent.
	ErrNoAPIKey = errors.New("bugzilla: no API key configured")
	// ErrKeyRefused: a write was asked for while Bugzilla refuses the
	// configured API key (the client is in anonymous read-only mode); no
	// request was sent, or the write itself met the refusal.
	ErrKeyRefused = errors.New("bugzilla: the API key is refused by Bugzilla; read-only until it is accepted again")
	// ErrInvalid: Bugzilla rejected the request as invalid (HTTP 400 other
	// than a bad key: codes 50, 56, 108, 121-123, 32000, ...), or the
	// client refused to send it.
	ErrInvalid = errors.New("bugzilla: invalid request")
	// ErrUnavailable: Bugzilla answered 5xx or 429.
	ErrUnavailable = errors.New("bugzilla: service unavailable")
	// ErrGarbage: Bugzilla answered 2xx with a body that is not the JSON
	// expected (malformed or of the wrong shape).
	ErrGarbage = errors.New("bugzilla: answered malformed JSON")
	// ErrResponseTooLarge: the response body exceeded MaxResponseBytes.
	ErrResponseTooLarge = errors.New("bugzilla: response too large")
)

// Bugzilla error codes the client gives a meaning to.
const (
	CodeUnknownObject   = 51
	CodeBadBugID        = 100
	CodeBugNotFound     = 101
	CodeBugRestricted   = 102
	CodeBadAPIKey       = 306
	CodeLoginRequired   = 410
	CodeUnmapped        = 32000
	CodeUnknownResource = 32614
)

// Error is an error answer from Bugzilla: a non-2xx status, or a 2xx body
// with "error": true. Code is Bugzilla's error code (0 when the body was
// not a Bugzilla error, e.g. an HTML page from a proxy).
type Error struct {
	HTTPStatus int
	Code       int
	Message    string
}

// Error implements error.
func (e *Error) Error() string {
	msg := e.Message
	if msg == "" {
		msg = "error"
	}
	if e.Code != 0 {
		return fmt.Sprintf("bugzilla: %s (code %d, HTTP %d)", msg, e.Code, e.HTTPStatus)
	}
	return fmt.Sprintf("bugzilla: %s (HTTP %d)", msg, e.HTTPStatus)
}

// Is matches the sentinel errors of this package.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrNotFound:
		return e.Code == CodeBugNotFound || e.Code == CodeBadBugID
	case ErrRestricted:
		return e.Code == CodeBugRestricted
	case ErrPermission:
		return e.HTTPStatus == 401 && e.Code != CodeBugRestricted && e.Code != CodeLoginRequired
	case ErrUnknownUser:
		return e.Code == CodeUnknownObject
	case ErrBadAPIKey:
		return e.Code == CodeBadAPIKey
	case ErrLoginRequired:
		return e.Code == CodeLoginRequired
	case ErrInvalid:
		// A 2xx body with "error": true is treated like Bugzilla's 400.
		return (e.HTTPStatus == 400 || e.HTTPStatus < 300) && e.Code != CodeBadAPIKey
	case ErrUnavailable:
		return e.HTTPStatus >= 500 || e.HTTPStatus == 429
	}
	return false
}

// errTruncated marks a body that ended early.
var errTruncated = errors.New("bugzilla: truncated response body")

// Temporary reports whether err is worth retrying later: a 5xx or 429
// answer, a timeout, a network error or a truncated body. Bugzilla's 4xx
// answers, a bad key and a cancelled context are not temporary.
func Temporary(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	var be *Error
	if errors.As(err, &be) {
		return errors.Is(be, ErrUnavailable)
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, errTruncated) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	var oe *net.OpError
	return errors.As(err, &oe)
}

// notSent reports whether err proves that the request never reached the
// server (it failed while connecting), so even a non-idempotent request
// may be retried.
func notSent(err error) bool {
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Op == "dial" {
		return true
	}
	var de *net.DNSError
	return errors.As(err, &de)
}

// redactor removes a secret from error text.
type redactor struct{ secret []string }

func (r redactor) String(s string) string {
	for _, sec := range r.secret {
		if sec != "" {
			s = strings.ReplaceAll(s, sec, "REDACTED")
		}
	}
	return s
}

// redactedError hides the API key from the text of an error while keeping
// errors.Is/As working on the wrapped chain.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }
