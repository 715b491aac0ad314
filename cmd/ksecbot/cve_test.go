// SPDX-License-Identifier: GPL-3.0-or-later

package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCVEJSON runs `ksecbot cve --json` on the real CNA records and the
// repository of real ::gentoo ebuilds (testdata/cve.toml) and checks the
// fixed JSON shape and the verdicts a maintainer would read off the
// records by hand.
func TestCVEJSON(t *testing.T) {
	var out, errb bytes.Buffer
	code := run([]string{"cve", "--config", "testdata/cve.toml", "--json", "CVE-2025-71238", "cve-2026-64108", "CVE-2099-0001", "CVE-2026-45992"}, nil, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 4 {
		t.Fatalf("want 4 JSON lines, got %d:\n%s", len(lines), out.String())
	}
	// CVE-2025-71238: introduced 5.7, fixed 5.10.251 ... 7.0.
	want0 := `{"cve":"CVE-2025-71238","found":true,"rejected":false,"title":"scsi: qla2xxx: Fix bsg_done() causing double free","introduced":["5.7"],"fixed":["5.10.251","5.15.201","6.1.164","6.6.127","6.12.74","6.18.13","6.19.3","7.0"],"trees":[` +
		`{"tree":"gentoo-kernel","package":"sys-kernel/gentoo-kernel","version":"5.10.255","stable":false,"status":"fixed","fix":"5.10.251","ebuild":"5.10.255_p3"},` +
		`{"tree":"gentoo-kernel","package":"sys-kernel/gentoo-kernel","version":"5.10.250","stable":true,"status":"affected","fix":"5.10.251","ebuild":"5.10.250"},` +
		`{"tree":"vanilla-sources","package":"sys-kernel/vanilla-sources","version":"6.1.165","stable":false,"status":"fixed","fix":"6.1.164","ebuild":"6.1.165"},` +
		`{"tree":"vanilla-sources","package":"sys-kernel/vanilla-sources","version":"6.6.157","stable":false,"status":"fixed","fix":"6.6.127","ebuild":"6.6.157"},` +
		`{"tree":"vanilla-sources","package":"sys-kernel/vanilla-sources","version":"6.18.39","stable":false,"status":"fixed","fix":"6.18.13","ebuild":"6.18.39"},` +
		`{"tree":"vanilla-sources","package":"sys-kernel/vanilla-sources","version":"7.0","stable":false,"status":"fixed","fix":"7.0","ebuild":"7.0.0"},` +
		`{"tree":"vanilla-sources","package":"sys-kernel/vanilla-sources","version":"7.2.5","stable":false,"status":"fixed","fix":"7.0","ebuild":"7.2.5"},` +
		`{"tree":"rt-sources","package":"sys-kernel/rt-sources","version":"5.10.234","stable":false,"status":"affected","fix":"5.10.251","ebuild":"5.10.234_p127"},` +
		`{"tree":"rt-sources","package":"sys-kernel/rt-sources","version":"6.1.112","stable":false,"status":"affected","fix":"6.1.164","ebuild":"6.1.112_p43"},` +
		`{"tree":"gentoo-sources","package":"sys-kernel/gentoo-sources","version":"3.12.68","stable":false,"status":"unaffected","fix":"","ebuild":"3.12.68-r1"},` +
		`{"tree":"gentoo-sources","package":"sys-kernel/gentoo-sources","version":"3.14.74","stable":false,"status":"unaffected","fix":"","ebuild":"3.14.74"},` +
		`{"tree":"gentoo-sources","package":"sys-kernel/gentoo-sources","version":"3.14.58","stable":true,"status":"unaffected","fix":"","ebuild":"3.14.58-r1"}]}`
	if lines[0] != want0 {
		t.Errorf("CVE-2025-71238:\n got %s\nwant %s", lines[0], want0)
	}
	// CVE-2026-64108 (introduced 7.0, backported into 6.1.167..): vanilla
	// 7.0 is affected (fix 7.0.11), 6.1.165 predates the backport.
	var r struct {
		CVE   string `json:"cve"`
		Trees []struct {
			Tree, Version, Status, Fix string
		} `json:"trees"`
	}
	if err := json.Unmarshal([]byte(lines[1]), &r); err != nil || r.CVE != "CVE-2026-64108" {
		t.Fatalf("%v %s", err, lines[1])
	}
	got := map[string]string{}
	for _, it := range r.Trees {
		got[it.Tree+" "+it.Version] = it.Status + " " + it.Fix
	}
	for k, v := range map[string]string{
		"vanilla-sources 6.1.165": "unaffected ", "vanilla-sources 6.6.157": "fixed 6.6.142",
		"vanilla-sources 7.0": "affected 7.0.11", "vanilla-sources 7.2.5": "fixed 7.1",
		"gentoo-kernel 5.10.250": "unaffected ",
	} {
		if got[k] != v {
			t.Errorf("CVE-2026-64108 %s: %q, want %q", k, got[k], v)
		}
	}
	if want := `{"cve":"CVE-2099-0001","found":false,"rejected":false,"title":"","introduced":[],"fixed":[],"trees":[]}`; lines[2] != want {
		t.Errorf("no record:\n got %s\nwant %s", lines[2], want)
	}
	if !strings.Contains(lines[3], `"rejected":true`) || strings.Contains(lines[3], `"status":"affected"`) {
		t.Errorf("rejected CVE-2026-45992: %s", lines[3])
	}
}

func TestCVEText(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"cve", "-c", "testdata/cve.toml", "CVE-2025-71238"}, nil, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	for _, want := range []string{
		"CVE-2025-71238: scsi: qla2xxx: Fix bsg_done() causing double free",
		"  gentoo-kernel        affected   5.10.250: fix 5.10.251; newest stable 5.10.250 still affected, fixed in ~5.10.255: stabilise\n",
		"  rt-sources           affected   ~5.10.234: fix 5.10.251; ~6.1.112: fix 6.1.164\n",
		"  vanilla-sources      fixed      ~6.1.165, ~6.6.157, ~6.18.39, ~7.0, ~7.2.5: fixed\n",
		"  gentoo-sources       unaffected",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("missing %q in:\n%s", want, out.String())
		}
	}
}

// TestCVETextSharedVersions: with the demo's trees, whose packages share
// versions, each tree's line names each package's version once.
func TestCVETextSharedVersions(t *testing.T) {
	dir := t.TempDir()
	if err := unpackDemoData(dir); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "demo.toml")
	toml := "[bugzilla]\nurl = \"https://b.example.org\"\n[kernel_cve]\npath = \"vulns\"\n[gentoo]\nrepo = \"repo\"\n" +
		"[[tree]]\nname = \"gentoo-sources\"\npackages = [\"sys-kernel/gentoo-sources\", \"sys-kernel/gentoo-kernel\", \"sys-kernel/gentoo-kernel-bin\"]\n" +
		"[[tree]]\nname = \"vanilla\"\npackages = [\"sys-kernel/vanilla-sources\", \"sys-kernel/vanilla-kernel\"]\n"
	if err := os.WriteFile(path, []byte(toml), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if code := run([]string{"cve", "-c", path, "CVE-2025-21638"}, nil, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	for _, want := range []string{
		"  gentoo-sources       fixed      gentoo-sources, gentoo-kernel 6.12.58, ~6.18.39: fixed; gentoo-kernel-bin 6.12.58: fixed\n",
		"  vanilla              fixed      vanilla-sources ~6.18.39, ~7.2.5: fixed; vanilla-kernel ~6.18.39: fixed\n",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("missing %q in:\n%s", want, out.String())
		}
	}
}

func TestCVEBadInput(t *testing.T) {
	dir := t.TempDir()
	noCVE := filepath.Join(dir, "n.toml")
	os.WriteFile(noCVE, []byte("[bugzilla]\nurl = \"https://b.example.org\"\n"), 0o644)
	badPath := filepath.Join(dir, "b.toml")
	os.WriteFile(badPath, []byte("[bugzilla]\nurl = \"https://b.example.org\"\n[kernel_cve]\npath = \""+dir+"/nothing\"\n"), 0o644)
	vulns, _ := filepath.Abs("../../kernelcve/testdata/vulns")
	badRepo := filepath.Join(dir, "r.toml")
	os.WriteFile(badRepo, []byte("[bugzilla]\nurl = \"https://b.example.org\"\n[kernel_cve]\npath = \""+vulns+"\"\n[gentoo]\nrepo = \""+dir+"/norepo\"\n"), 0o644)
	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"cve", "--config", "testdata/cve.toml", "CVE-2025-71238; rm"}, exitUsage, "is not a CVE id"},
		{[]string{"cve", "--config", "testdata/cve.toml"}, exitUsage, "cve needs CVE ids or --tree NAME"},
		{[]string{"cve", "--config", "testdata/cve.toml", "--tree", "zen-sources"}, exitUsage, `no [[tree]] named "zen-sources"; the trees are: gentoo-kernel, vanilla-sources, rt-sources, gentoo-sources`},
		{[]string{"cve", "--config", "testdata/cve.toml", "--tree", "rt-sources", "CVE-2025-71238"}, exitUsage, "either CVE ids or --tree"},
		{[]string{"cve", "--config", noCVE, "CVE-2025-71238"}, exitConfig, "no [kernel_cve] table"},
		{[]string{"cve", "--config", badPath, "CVE-2025-71238"}, exitConfig, "kernel_cve.path: vulns clone"},
		{[]string{"cve", "--config", badPath, "CVE-2025-71238"}, exitConfig, "clone https://git.kernel.org/pub/scm/linux/security/vulns.git"},
		{[]string{"cve", "--config", badRepo, "CVE-2025-71238"}, exitConfig, "gentoo.repo: gentoo repository"},
	} {
		var out, errb bytes.Buffer
		code := run(c.args, nil, &out, &errb)
		if code != c.code || !strings.Contains(errb.String(), c.msg) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", c.args, code, errb.String(), c.code, c.msg)
		}
	}
}

// TestTreesRepoFromConfig: `ksecbot trees --config FILE` reads the
// repository of [gentoo] repo (here real ::gentoo metadata.xml and
// ebuilds); --repo still wins.
func TestTreesRepoFromConfig(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"trees", "--config", "testdata/cve.toml"}, nil, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	for _, want := range []string{`packages = ["sys-kernel/gentoo-kernel"]`, `bugzilla = ["dist-kernel@gentoo.org"]`,
		"sys-kernel/rt-sources has no security support: K_SECURITY_UNSUPPORTED is set"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("trees output lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	if code := run([]string{"trees", "--config", "testdata/cve.toml", "--repo", "../../treegen/testdata/repo"}, nil, &out, &errb); code != 0 ||
		!strings.Contains(out.String(), "sys-kernel/hardened-sources") {
		t.Errorf("--repo did not win: %s", out.String())
	}
}
