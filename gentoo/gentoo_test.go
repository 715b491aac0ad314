// SPDX-License-Identifier: GPL-3.0-or-later

package gentoo

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestUpstream(t *testing.T) {
	for pvr, want := range map[string]string{
		"6.6.58":      "6.6.58",
		"6.6.58-r1":   "6.6.58",
		"5.10.255_p3": "5.10.255",
		"6.1.112_p43": "6.1.112",
		"7.0.0":       "7.0",
		"6.13_rc3":    "6.13-rc3",
		"6.0_rc5_p1":  "6.0-rc5",
		"5.19.0_p1":   "5.19",
		"3.14.58-r1":  "3.14.58",
		"2.6.39.2":    "2.6.39.2",
	} {
		v, ok := Upstream(pvr)
		if !ok || v.String() != want {
			t.Errorf("Upstream(%q) = %v %v, want %s", pvr, v, ok, want)
		}
	}
	for _, bad := range []string{"9999", "6.12.9999", "", "abc", "6..1"} {
		if _, ok := Upstream(bad); ok {
			t.Errorf("Upstream(%q) accepted", bad)
		}
	}
}

// TestPatchSet: X.Y_pN is a patch set on X.Y with stable updates of its
// own, not release X.Y; X.Y.Z_pN is release X.Y.Z.
func TestPatchSet(t *testing.T) {
	for pvr, want := range map[string]bool{"6.12_p5": true, "6.12_p5-r1": true, "5.10_p12": true,
		"6.1.112_p43": false, "5.10.255_p3": false, "6.12": false, "6.13_rc3": false, "6.0_rc5_p1": false} {
		if IsPatchSet(pvr) != want {
			t.Errorf("IsPatchSet(%q) = %v", pvr, !want)
		}
	}
	vs, err := NewRepo("testdata/repo").Current("sys-kernel/pf-sources")
	if err != nil || len(vs) != 2 {
		t.Fatalf("pf-sources: %v %v", vs, err)
	}
	for _, v := range vs {
		if !v.PatchSet || v.PV() != v.PVR {
			t.Errorf("pf-sources %s: patch set %v, PV %q", v.PVR, v.PatchSet, v.PV())
		}
	}
	if (Version{PVR: "6.12_p5-r2"}).PV() != "6.12_p5" {
		t.Error("PV keeps the revision")
	}
}

func describe(vs []Version) string {
	var b []string
	for _, v := range vs {
		s := "~"
		if v.Stable {
			s = "stable"
		}
		b = append(b, fmt.Sprintf("%s=%s(%s)", v.PVR, v.Upstream, s))
	}
	return strings.Join(b, " ")
}

func TestCurrentOnRealEbuilds(t *testing.T) {
	r := NewRepo("testdata/repo")
	if err := r.Check(); err != nil {
		t.Fatal(err)
	}
	for pkg, want := range map[string]string{
		"sys-kernel/gentoo-kernel":   "5.10.255_p3=5.10.255(~) 5.10.250=5.10.250(stable)",
		"sys-kernel/gentoo-sources":  "3.12.68-r1=3.12.68(~) 3.14.74=3.14.74(~) 3.14.58-r1=3.14.58(stable)",
		"sys-kernel/vanilla-sources": "6.1.165=6.1.165(~) 6.6.157=6.6.157(~) 6.18.39=6.18.39(~) 7.0.0=7.0(~) 7.2.5=7.2.5(~)",
		"sys-kernel/rt-sources":      "5.10.234_p127=5.10.234(~) 6.1.112_p43=6.1.112(~)",
		"sys-kernel/not-there":       "",
	} {
		got, err := r.Current(pkg)
		if err != nil {
			t.Fatal(err)
		}
		if describe(got) != want {
			t.Errorf("%s:\n got %s\nwant %s", pkg, describe(got), want)
		}
	}
	if _, err := r.Current("../../etc/passwd"); err == nil {
		t.Error("a path outside the repository was accepted")
	}
}

// TestRereadWhenChanged: a sync that adds an ebuild or stabilises one is
// seen at the next call.
func TestRereadWhenChanged(t *testing.T) {
	dir := t.TempDir()
	pkg := filepath.Join(dir, "sys-kernel", "gentoo-sources")
	os.MkdirAll(pkg, 0o755)
	write := func(name, kw string) {
		path := filepath.Join(pkg, name)
		os.WriteFile(path, []byte("EAPI=8\n# KEYWORDS=\"amd64\" in a comment is not read\nKEYWORDS=\""+kw+"\"\n"), 0o644)
		later := time.Now().Add(time.Duration(len(kw)) * time.Second)
		os.Chtimes(path, later, later)
	}
	write("gentoo-sources-6.6.58.ebuild", "amd64 ~arm64")
	write("gentoo-sources-6.6.62.ebuild", "~amd64 ~arm64")
	write("gentoo-sources-6.12.9999.ebuild", "")
	r := NewRepo(dir)
	got, _ := r.Current("sys-kernel/gentoo-sources")
	if want := "6.6.62=6.6.62(~) 6.6.58=6.6.58(stable)"; describe(got) != want {
		t.Fatalf("got %s, want %s", describe(got), want)
	}
	write("gentoo-sources-6.6.62.ebuild", "amd64 ~arm64 -x86")
	write("gentoo-sources-6.12.1-r1.ebuild", "~amd64 ~arm64 ~x86")
	got, _ = r.Current("sys-kernel/gentoo-sources")
	if want := "6.6.62=6.6.62(stable) 6.12.1-r1=6.12.1(~)"; describe(got) != want {
		t.Fatalf("after the sync: got %s, want %s", describe(got), want)
	}
}

func TestKeywordsForms(t *testing.T) {
	dir := t.TempDir()
	for body, want := range map[string]bool{
		"KEYWORDS=\"-* amd64\"\n":                           true,
		"KEYWORDS=\"-* ~amd64\"\n":                          false,
		"[[ ${PV} == *9999 ]] || KEYWORDS=\"~amd64 x86\"\n": true,
		"KEYWORDS=\"~amd64\n\tarm64\"\n":                    true,
		"KEYWORDS=~amd64\n":                                 false,
	} {
		p := filepath.Join(dir, "x.ebuild")
		os.WriteFile(p, []byte(body), 0o644)
		kw, err := readKeywords(p)
		if err != nil || stable(kw) != want || len(kw) == 0 {
			t.Errorf("%q: keywords %q stable %v, want %v", body, kw, stable(kw), want)
		}
	}
}

// TestStamp: a package's stamp is what Versions' cache is valid for: ""
// without the package, and it changes when an ebuild is added or changed.
func TestStamp(t *testing.T) {
	dir := t.TempDir()
	r := NewRepo(dir)
	if s, err := r.Stamp("sys-kernel/gentoo-sources"); err != nil || s != "" {
		t.Fatalf("missing package: %q, %v", s, err)
	}
	if _, err := r.Stamp("../etc"); err == nil {
		t.Fatal("bad package name: no error")
	}
	pkg := filepath.Join(dir, "sys-kernel", "gentoo-sources")
	os.MkdirAll(pkg, 0o755)
	os.WriteFile(filepath.Join(pkg, "gentoo-sources-6.6.58.ebuild"), []byte("KEYWORDS=\"amd64\"\n"), 0o644)
	a, _ := r.Stamp("sys-kernel/gentoo-sources")
	os.WriteFile(filepath.Join(pkg, "gentoo-sources-6.6.62.ebuild"), []byte("KEYWORDS=\"~amd64\"\n"), 0o644)
	b, _ := r.Stamp("sys-kernel/gentoo-sources")
	if a == "" || a == b {
		t.Errorf("stamps %q then %q: want a change when an ebuild is added", a, b)
	}
	os.WriteFile(filepath.Join(pkg, "metadata.xml"), []byte("<pkgmetadata/>"), 0o644)
	if c, _ := r.Stamp("sys-kernel/gentoo-sources"); c != b {
		t.Errorf("metadata.xml changed the stamp: %q, was %q", c, b)
	}
}
