// SPDX-License-Identifier: GPL-3.0-or-later

package config

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
)

// maxSecretSize bounds a secret file.
const maxSecretSize = 64 << 10

// secretRef is one secret of the configuration and where it comes from.
type secretRef struct {
	fileKey, file string // e.g. "bugzilla.api_key_file", "/etc/ksecbot/bugzilla.key"
	envKey, env   string
	dst           *Secret
}

// secretRefs lists every secret that the configuration names.
func (c *Config) secretRefs() []secretRef {
	refs := []secretRef{
		{"bugzilla.api_key_file", c.Bugzilla.APIKeyFile, "bugzilla.api_key_env", c.Bugzilla.APIKeyEnv, &c.Bugzilla.APIKey},
		{"http.webhook_secret_file", c.HTTP.WebhookSecretFile, "http.webhook_secret_env", c.HTTP.WebhookSecretEnv, &c.HTTP.WebhookSecret},
	}
	for _, n := range c.Networks {
		h, ok := c.Sections[n.Name].(SecretHolder)
		if !ok {
			continue
		}
		for _, r := range h.Secrets() {
			ref := secretRef{fileKey: n.Table + "." + r.Key + "_file", envKey: n.Table + "." + r.Key + "_env", env: r.Env, dst: r.Into}
			if r.File != nil {
				ref.file = *r.File
			}
			refs = append(refs, ref)
		}
	}
	return refs
}

// LoadSecrets reads every secret that the configuration names, from its
// *_file (content trimmed of the trailing newline) or *_env (an environment
// variable name), into the Secret fields. A missing, unreadable or empty
// source is a problem naming its key and line; the error is a *Problems and
// never holds a secret value. Parse does not call it; Load does.
func (c *Config) LoadSecrets() error {
	return c.loadSecrets(func(secretRef) bool { return true })
}

// LoadSecret reads only the secret whose keys start with base (e.g.
// "http.webhook_secret" for http.webhook_secret_file or _env), as
// LoadSecrets does: ingest-mail needs the webhook secret and nothing else.
func (c *Config) LoadSecret(base string) error {
	return c.loadSecrets(func(r secretRef) bool { return r.fileKey == base+"_file" })
}

func (c *Config) loadSecrets(want func(secretRef) bool) error {
	ps := &Problems{}
	var idx *docIndex
	if c.Metadata != nil {
		ps.Path, idx = c.Metadata.Path, c.Metadata.index
	}
	add := func(key, format string, args ...any) {
		ps.List = append(ps.List, Problem{Key: key, Line: idx.lineOf(key), Msg: fmt.Sprintf(format, args...)})
	}
	for _, r := range c.secretRefs() {
		if !want(r) {
			continue
		}
		switch {
		case r.file != "":
			val, err := readSecretFile(r.file)
			if err != nil {
				add(r.fileKey, "%v", err)
				continue
			}
			*r.dst = Secret(val)
		case r.env != "":
			val := strings.TrimRight(os.Getenv(r.env), "\r\n")
			if val == "" {
				add(r.envKey, "environment variable %s is not set or empty", r.env)
				continue
			}
			*r.dst = Secret(val)
		}
	}
	return ps.errOrNil()
}

// readSecretFile reads a secret file. Its errors name the file, never its
// content.
func readSecretFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("secret file %s does not exist", path)
		}
		return "", fmt.Errorf("cannot open secret file: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSecretSize+1))
	if err != nil {
		return "", fmt.Errorf("cannot read secret file %s: %w", path, err)
	}
	if len(b) > maxSecretSize {
		return "", fmt.Errorf("secret file %s is larger than %d bytes", path, maxSecretSize)
	}
	val := strings.TrimRight(string(b), "\r\n")
	if val == "" {
		return "", fmt.Errorf("secret file %s is empty", path)
	}
	return val, nil
}

// SecretFileWarnings returns, as "key: msg", one warning per secret file
// (and private file, such as a TLS key) that exists and that its group or
// others can read or write (see insecureFiles).
func SecretFileWarnings(c *Config) []string {
	var out []string
	for _, p := range c.insecureFiles() {
		out = append(out, p.Key+": "+p.Msg)
	}
	return out
}

// insecureFiles returns one problem per secret file (and private file,
// such as a TLS key) that exists and that its group or others can read or
// write. Files that do not exist are left to LoadSecrets and
// fileProblems. The daemon refuses to start with any of them unless
// --allow-insecure-secrets (Validate).
func (c *Config) insecureFiles() []Problem {
	type file struct{ key, path string }
	var files []file
	for _, r := range c.secretRefs() {
		if r.file != "" {
			files = append(files, file{r.fileKey, r.file})
		}
	}
	for _, p := range c.paths() {
		if p.Private && *p.Path != "" {
			files = append(files, file{p.Key, *p.Path})
		}
	}
	var out []Problem
	for _, f := range files {
		st, err := os.Stat(f.path)
		if err != nil || !st.Mode().IsRegular() {
			continue
		}
		if perm := st.Mode().Perm(); perm&0o077 != 0 {
			out = append(out, Problem{Key: f.key, Line: c.Line(f.key), Msg: fmt.Sprintf("secret file %s has mode %04o: group or others can access it; run chmod 600 %s", f.path, perm, f.path)})
		}
	}
	return out
}

// paths lists the files the network sections name: their secret files
// and their other files (networkFiles), each with its full key.
func (c *Config) paths() []PathRef {
	var out []PathRef
	for _, n := range c.Networks {
		if h, ok := c.Sections[n.Name].(SecretHolder); ok {
			for _, r := range h.Secrets() {
				if r.File != nil {
					out = append(out, PathRef{Key: n.Table + "." + r.Key + "_file", Path: r.File})
				}
			}
		}
	}
	return append(out, c.networkFiles()...)
}

// networkFiles lists the files the network sections name that are no
// secret (PathHolder), each with its full key.
func (c *Config) networkFiles() []PathRef {
	var out []PathRef
	for _, n := range c.Networks {
		if h, ok := c.Sections[n.Name].(PathHolder); ok {
			for _, p := range h.Paths() {
				p.Key = n.Table + "." + p.Key
				out = append(out, p)
			}
		}
	}
	return out
}
