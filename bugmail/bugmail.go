// SPDX-License-Identifier: GPL-3.0-or-later

// Package bugmail reads Bugzilla notification mail (bugmail) just far
// enough to name the bug it is about, for push ingest (`ksecbot
// ingest-mail`, docs/operating.md, "Feeding bugmail"). The mail
// is never trusted for bug content: ksecbot reads the bug through the API.
package bugmail

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/mail"
	"regexp"
	"strconv"
	"strings"
)

// maxMail bounds how much of a mail is read; the headers are all we need.
const maxMail = 4 << 20

// Mail is what a bugmail says about its bug.
type Mail struct {
	BugID     int
	Type      string // X-Bugzilla-Type: new, changed, dep_changed, ...
	Product   string
	Component string
	URL       string // X-Bugzilla-URL
}

// ErrNotBugmail is returned for mail that is not a Bugzilla bug mail.
var ErrNotBugmail = errors.New("not a Bugzilla bug mail")

var (
	subjectRE   = regexp.MustCompile(`\[Bug (\d{1,9})\]`)
	messageIDRE = regexp.MustCompile(`^<bug-(\d{1,9})-`)
)

// Parse reads one RFC 5322 message. The bug number comes from the
// Subject ("[Bug N]") and must agree with the Message-ID / In-Reply-To
// ("<bug-N-...>") when those name one.
func Parse(r io.Reader) (*Mail, error) {
	msg, err := mail.ReadMessage(io.LimitReader(r, maxMail))
	if err != nil {
		return nil, fmt.Errorf("%w: cannot parse the message headers: %v", ErrNotBugmail, err)
	}
	h := msg.Header
	m := &Mail{
		Type:      strings.TrimSpace(h.Get("X-Bugzilla-Type")),
		Product:   strings.TrimSpace(h.Get("X-Bugzilla-Product")),
		Component: strings.TrimSpace(h.Get("X-Bugzilla-Component")),
		URL:       strings.TrimSpace(h.Get("X-Bugzilla-URL")),
	}
	if m.Type == "" || m.Product == "" {
		return nil, fmt.Errorf("%w: no X-Bugzilla-Type/X-Bugzilla-Product header", ErrNotBugmail)
	}
	subject := h.Get("Subject")
	if dec, err := new(mime.WordDecoder).DecodeHeader(subject); err == nil {
		subject = dec
	}
	sm := subjectRE.FindStringSubmatch(subject)
	if sm == nil {
		return nil, fmt.Errorf("%w: the Subject does not name a bug ([Bug N])", ErrNotBugmail)
	}
	m.BugID, _ = strconv.Atoi(sm[1])
	if m.BugID <= 0 {
		return nil, fmt.Errorf("%w: bug number %q is not positive", ErrNotBugmail, sm[1])
	}
	for _, key := range []string{"Message-ID", "In-Reply-To"} {
		if mm := messageIDRE.FindStringSubmatch(strings.TrimSpace(h.Get(key))); mm != nil {
			if id, _ := strconv.Atoi(mm[1]); id != m.BugID {
				return nil, fmt.Errorf("%w: Subject names bug %d but %s names bug %d", ErrNotBugmail, m.BugID, key, id)
			}
		}
	}
	return m, nil
}

// Watched reports whether the mail's product/component is one of the
// given product/component pairs.
func (m *Mail) Watched(pairs [][2]string) bool {
	for _, p := range pairs {
		if strings.EqualFold(p[0], m.Product) && strings.EqualFold(p[1], m.Component) {
			return true
		}
	}
	return false
}
