// SPDX-License-Identifier: GPL-3.0-or-later

package transport_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/ksecbot/ksecbot/config"
	"github.com/ksecbot/ksecbot/transport"
)

type sectionA struct{}

func (*sectionA) Defaults(*config.Defaults) {}
func (*sectionA) Check(*config.Checker)     {}

type sectionB struct{ sectionA }

type fakeTransport struct{ transport.Transport }

// Typed hands a network's constructor its own section type, refuses
// another type with an error naming both, and never returns a typed nil.
func TestTyped(t *testing.T) {
	var got *sectionA
	ok := transport.Typed("net", func(s *sectionA, _ transport.Env) (*fakeTransport, error) {
		got = s
		return &fakeTransport{}, nil
	})
	sec := &sectionA{}
	if tr, err := ok(sec, transport.Env{}); err != nil || tr == nil || got != sec {
		t.Errorf("the right section: %v, %v; constructor got %p, want %p", tr, err, got, sec)
	}
	if _, err := ok(&sectionB{}, transport.Env{}); err == nil || !strings.Contains(err.Error(), "net: section of type *transport_test.sectionB, want *transport_test.sectionA") {
		t.Errorf("another section type: %v", err)
	}
	failing := transport.Typed("net", func(*sectionA, transport.Env) (*fakeTransport, error) { return nil, errors.New("boom") })
	if tr, err := failing(sec, transport.Env{}); err == nil || tr != nil {
		t.Errorf("a failing constructor: transport %#v (a typed nil is not nil), err %v", tr, err)
	}
}
