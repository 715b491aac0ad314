// SPDX-License-Identifier: GPL-3.0-or-later

package config

import (
	"path/filepath"
	"strings"
)

// resolvePaths makes every relative path of the configuration relative to
// dir, the folder of the configuration file, instead of the working
// directory of whoever reads it: the database (store.path, also when it
// is the default), the kernel CNA clone, the Gentoo repository, secret
// files and the files a network names (TLS files, the Matrix state and
// recovery key, an avatar). A daemon started by hand from another
// folder then opens the same database as the service does.
func (c *Config) resolvePaths(dir string) {
	abs := func(p *string) {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(dir, *p)
		}
	}
	// SQLite's own names (":memory:", "file:" URIs) are no file paths.
	if !strings.HasPrefix(c.Store.Path, ":memory:") && !strings.HasPrefix(c.Store.Path, "file:") {
		abs(&c.Store.Path)
	}
	abs(&c.Bugzilla.APIKeyFile)
	abs(&c.HTTP.WebhookSecretFile)
	if c.KernelCVE != nil {
		abs(&c.KernelCVE.Path)
	}
	if c.Gentoo != nil {
		abs(&c.Gentoo.Repo)
	}
	for _, p := range c.paths() {
		abs(p.Path)
	}
}
