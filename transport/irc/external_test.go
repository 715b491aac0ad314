// SPDX-License-Identifier: GPL-3.0-or-later

package irc

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ergochat/irc-go/ircmsg"

	"github.com/ksecbot/ksecbot/config"
	"github.com/ksecbot/ksecbot/internal/irctest"
)

// clientCert writes a self-signed client certificate and key and returns
// their paths and the certificate's SHA-256 fingerprint (as InspIRCd's
// sslinfo reports it to services).
func clientCert(t *testing.T) (certFile, keyFile, fingerprint string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ksecbot"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "client.pem"), filepath.Join(dir, "client.key")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(der)
	return certFile, keyFile, hex.EncodeToString(sum[:])
}

// SASL EXTERNAL: the bot logs in with a TLS client certificate that the
// account owner added to NickServ (CERT ADD), no password.
func TestServerSASLExternal(t *testing.T) {
	t.Parallel()
	s := irctest.Need(t)
	if s.TLS == "" || s.CAFile == "" {
		t.Skip("no TLS test server in the environment")
	}
	certFile, keyFile, fp := clientCert(t)
	account, password := irctest.Register(t, s.Addr, "ext")
	owner := irctest.NewObserver(t, s.Addr, irctest.Options{Account: account, Password: password})
	owner.Say(t, "NickServ", "CERT ADD "+fp)
	owner.WaitFor(t, 10*time.Second, "NickServ confirming CERT ADD", func(m ircmsg.Message) bool {
		return m.Command == "NOTICE" && strings.EqualFold(m.Nick(), "NickServ") && strings.Contains(irctest.LastParam(m), fp)
	})
	owner.Close()

	ch := randName("#ext")
	obs := newObserver(t, s.Addr, "observer")
	obs.Join(t, ch, "")
	cfg := &Config{
		Server: s.TLS, TLS: true, TLSCAFile: s.CAFile, TLSCertFile: certFile, TLSKeyFile: keyFile,
		Nick: randName("ksb"), SASLMech: "EXTERNAL", SASLUser: account,
		Channels: []Channel{{Name: ch}},
		Flood:    Flood{Burst: 20, Interval: config.Duration{Duration: 50 * time.Millisecond}},
	}
	b := startBot(t, cfg)
	m := waitFor(t, obs, 20*time.Second, "bot JOIN", isCmd("JOIN", b.nick, ch))
	if len(m.Params) < 2 || m.Params[1] != account {
		t.Fatalf("extended-join shows account %v, want %s (SASL EXTERNAL)", m.Params, account)
	}
}
