// SPDX-License-Identifier: GPL-3.0-or-later

// What the connection authenticates with: the TLS settings (CA file,
// client certificate for SASL EXTERNAL) and the SASL password.

package irc

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"strings"
)

// tlsConfig builds the TLS settings: system roots or a custom CA file,
// and a client certificate for SASL EXTERNAL.
func (t *Transport) tlsConfig() (*tls.Config, error) {
	c := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: t.cfg.TLSInsecure} //nolint:gosec // test-only option
	if t.cfg.TLSCAFile != "" {
		pem, err := os.ReadFile(t.cfg.TLSCAFile)
		if err != nil {
			return nil, fmt.Errorf("irc: read CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("irc: no certificate in CA file %s", t.cfg.TLSCAFile)
		}
		c.RootCAs = pool
	}
	if t.cfg.TLSCertFile != "" {
		cert, err := tls.LoadX509KeyPair(t.cfg.TLSCertFile, t.cfg.TLSKeyFile)
		if err != nil {
			return nil, fmt.Errorf("irc: load client certificate: %w", err)
		}
		c.Certificates = []tls.Certificate{cert}
	}
	return c, nil
}

// saslPassword returns the SASL password as configured at start or by
// the last reload.
func (t *Transport) saslPassword() string {
	t.mu.Lock()
	secret := t.saslSecret
	t.mu.Unlock()
	if p := secret.Reveal(); p != "" {
		return p
	}
	if t.cfg.SASLPasswordEnv != "" {
		return os.Getenv(t.cfg.SASLPasswordEnv)
	}
	if t.cfg.SASLPasswordFile != "" {
		b, err := os.ReadFile(t.cfg.SASLPasswordFile)
		if err == nil {
			return strings.TrimSpace(string(b))
		}
		t.log.Error("cannot read sasl_password_file", "err", err)
	}
	return ""
}
