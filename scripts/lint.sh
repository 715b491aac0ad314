#!/usr/bin/env bash
# Static checks, run by scripts/test.sh (and so by CI) before the tests:
#   1. every Go file starts with the SPDX licence line, then a blank line;
#   2. gofmt, go vet -tags goolm;
#   3. staticcheck -tags goolm, pinned below (installed with `go install`
#      from the module proxy into GOPATH/bin when missing, then reused);
#   4. the build guard: building without -tags goolm, or with CGO_ENABLED=0,
#      must fail at compile time with a message that names the fix;
#   5. the ebuild's LICENSE line is the one scripts/ebuild-license.sh
#      computes from the modules linked into ksecbot;
#   6. no comment, and no Markdown document, cites a document that is not
#      in the repository (a "SPEC", "F14", "issue 14", "must-show"): point
#      at a README or docs/ section, or a test, instead.
set -euo pipefail
cd "$(dirname "$0")/.."

# staticcheck 2026.2.2 (module version v0.8.2), built for Go 1.26.
staticcheck_version=v0.8.2

spdx='// SPDX-License-Identifier: GPL-3.0-or-later'
missing=()
while IFS= read -r -d '' f; do
	if [ "$(head -n 1 "$f")" != "$spdx" ] || [ -n "$(sed -n 2p "$f")" ]; then
		missing+=("$f")
	fi
done < <(git ls-files -z '*.go')
if [ "${#missing[@]}" -gt 0 ]; then
	echo "licence: these Go files do not start with \"$spdx\" and a blank line:" >&2
	printf '  %s\n' "${missing[@]}" >&2
	exit 1
fi

# Comments in Go, shell, SQL and TOML files; string literals are not comments,
# so only text after //, # or -- counts.
cites=$(git ls-files -z '*.go' '*.sh' '*.sql' '*.toml' 'contrib/*' ':!scripts/lint.sh' |
	xargs -0 grep -nIE '(//|#|--).*(\bSPEC\b|\(F[0-9]{1,2}[,)/]|\b[Ii]ssue #?[0-9]+|\bmust-show\b)' || true)
if [ -n "$cites" ]; then
	echo "comments: these cite a document outside the repository; point at a README section or a test instead:" >&2
	echo "$cites" >&2
	exit 1
fi
cites=$(git ls-files -z '*.md' | xargs -0 grep -nIE '\bSPEC\b|\(F[0-9]{1,2}[,)/]|\b[Ii]ssue #?[0-9]+|\bmust-show\b' || true)
if [ -n "$cites" ]; then
	echo "documents: these cite a document outside the repository; point at a section of README.md, docs/ or a test instead:" >&2
	echo "$cites" >&2
	exit 1
fi

unformatted=$(git ls-files -z '*.go' | xargs -0 gofmt -l)
if [ -n "$unformatted" ]; then
	echo "gofmt: these files need formatting: $unformatted" >&2
	exit 1
fi
go vet -tags goolm ./...

gobin=$(go env GOPATH)/bin
staticcheck=$gobin/staticcheck
if ! { [ -x "$staticcheck" ] && "$staticcheck" -version | grep -qF "(${staticcheck_version#v})"; }; then
	echo "installing staticcheck $staticcheck_version into $gobin"
	go install "honnef.co/go/tools/cmd/staticcheck@$staticcheck_version"
fi
"$staticcheck" -tags goolm ./...

guard() { # guard WANTED-MESSAGE ENV... -- GO-BUILD-ARGS...
	local want=$1 out
	shift
	if out=$(env "$@" -o /dev/null ./cmd/ksecbot 2>&1); then
		echo "build guard: \`$*\` succeeded; it must fail with $want" >&2
		exit 1
	fi
	# The fix must be the first thing the builder reads.
	if ! head -n 1 <<<"$out" | grep -q "$want"; then
		echo "build guard: \`$*\` failed without naming $want first:" >&2
		echo "$out" >&2
		exit 1
	fi
}
guard ksecbot_must_be_built_with_tags_goolm go build
guard ksecbot_must_be_built_with_cgo CGO_ENABLED=0 go build -tags goolm
guard ksecbot_must_be_built_with_ CGO_ENABLED=0 go build
scripts/ebuild-license.sh --check
echo "lint: SPDX headers, comment and document citations, gofmt, go vet, staticcheck $staticcheck_version, the build guard and the ebuild LICENSE passed"
