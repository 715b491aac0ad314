// SPDX-License-Identifier: GPL-3.0-or-later

// STS (IRCv3 strict transport security): a server that advertises
// "sts=port=N" on a plaintext connection is left at once, before SASL
// sends any password, for TLS on port N; "sts=duration=D" on a TLS
// connection is remembered (a file in the state directory) so that later
// connections to that host go straight to TLS until it expires.

package irc

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// stsFile is the file, in Options.StateDir, where STS policies are kept.
const stsFile = "irc-sts.json"

// stsPolicy is one host's policy: connect with TLS to Port until Expires.
type stsPolicy struct {
	Port    int       `json:"port"`
	Expires time.Time `json:"expires"`
}

// stsStore keeps the policies by host, in memory and in path ("" keeps
// them in memory only). Safe for concurrent use.
type stsStore struct {
	mu       sync.Mutex
	path     string
	policies map[string]stsPolicy
	loaded   bool
}

// get returns host's policy when it has not expired at now.
func (s *stsStore) get(host string, now time.Time) (stsPolicy, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.loadLocked(); err != nil {
		return stsPolicy{}, false, err
	}
	p, ok := s.policies[host]
	if !ok || !now.Before(p.Expires) {
		return stsPolicy{}, false, nil
	}
	return p, true, nil
}

// set remembers host's policy (duration 0 removes it) and writes the file.
func (s *stsStore) set(host string, port int, duration time.Duration, now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.loadLocked(); err != nil {
		return err
	}
	if duration <= 0 {
		delete(s.policies, host)
	} else {
		s.policies[host] = stsPolicy{Port: port, Expires: now.Add(duration)}
	}
	if s.path == "" {
		return nil
	}
	b, err := json.MarshalIndent(s.policies, "", "  ")
	if err != nil {
		return err
	}
	tmp := s.path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("failed to write the STS policy: %w", err)
	}
	if err := os.Rename(tmp, s.path); err != nil {
		return fmt.Errorf("failed to write the STS policy: %w", err)
	}
	return nil
}

func (s *stsStore) loadLocked() error {
	if s.loaded {
		return nil
	}
	s.policies = map[string]stsPolicy{}
	s.loaded = true
	if s.path == "" {
		return nil
	}
	b, err := os.ReadFile(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err == nil {
		err = json.Unmarshal(b, &s.policies)
	}
	if err != nil {
		s.policies = map[string]stsPolicy{}
		return fmt.Errorf("failed to read the STS policy %s: %w", s.path, err)
	}
	return nil
}

// parseSTS reads the value of the sts capability: port and duration
// (seconds), each ok only when present and valid.
func parseSTS(v string) (port int, portOK bool, duration time.Duration, durOK bool) {
	for _, kv := range strings.Split(v, ",") {
		k, val, _ := strings.Cut(kv, "=")
		switch k {
		case "port":
			if p, err := strconv.Atoi(val); err == nil && p > 0 && p < 65536 {
				port, portOK = p, true
			}
		case "duration":
			if d, err := strconv.ParseInt(val, 10, 64); err == nil && d >= 0 && d < 1<<31 {
				duration, durOK = time.Duration(d)*time.Second, true
			}
		}
	}
	return
}

// dialTarget returns where the next connection goes and whether with
// TLS: the configured server, or the TLS port of a remembered or just
// advertised STS policy for its host.
func (t *Transport) dialTarget() (server string, useTLS bool) {
	server, useTLS = t.cfg.Server, t.cfg.TLS
	if useTLS {
		return server, true
	}
	host, _, err := net.SplitHostPort(server)
	if err != nil {
		return server, false
	}
	t.mu.Lock()
	upgrade := t.stsUpgrade
	t.mu.Unlock()
	if upgrade > 0 {
		return net.JoinHostPort(host, strconv.Itoa(upgrade)), true
	}
	p, ok, err := t.sts.get(host, t.opt.Now())
	if err != nil {
		t.log.Warn("cannot read the remembered STS policy; using the configured server", "err", err)
	}
	if ok {
		return net.JoinHostPort(host, strconv.Itoa(p.Port)), true
	}
	return server, false
}

// onSTS handles the sts capability of a CAP LS line on connection s:
// on plaintext with a port, it leaves at once for TLS on that port (it
// reports true: the caller closes the link before SASL goes on); on
// TLS, it remembers the policy for the configured host.
func (s *session) onSTS(value string) (leave bool) {
	t := s.t
	port, portOK, duration, durOK := parseSTS(value)
	host, _, err := net.SplitHostPort(t.cfg.Server)
	if err != nil {
		return false
	}
	if !s.useTLS {
		if !portOK {
			return false
		}
		t.mu.Lock()
		t.stsUpgrade = port
		t.mu.Unlock()
		t.log.Info("the server requires TLS (STS): leaving the plaintext connection before authenticating", "server", s.server, "tls_port", port)
		return true
	}
	if !durOK {
		return false
	}
	_, p, _ := net.SplitHostPort(s.server)
	tlsPort, _ := strconv.Atoi(p)
	if err := t.sts.set(host, tlsPort, duration, t.opt.Now()); err != nil {
		t.log.Warn("cannot remember the STS policy", "err", err)
		return false
	}
	t.mu.Lock()
	t.stsUpgrade = 0 // remembered now (or removed with duration 0)
	t.mu.Unlock()
	t.log.Debug("STS policy remembered", "host", host, "port", tlsPort, "duration", duration)
	return false
}

// newSTSStore returns the policy store in dir ("" keeps it in memory).
func newSTSStore(dir string) *stsStore {
	if dir == "" {
		return &stsStore{}
	}
	return &stsStore{path: filepath.Join(dir, stsFile)}
}

// movedForSTS reports whether s left its plaintext link for TLS.
func (s *session) movedForSTS() bool {
	s.fatalMu.Lock()
	defer s.fatalMu.Unlock()
	return s.leftForSTS
}
