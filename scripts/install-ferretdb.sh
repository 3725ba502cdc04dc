#!/usr/bin/env bash
# Builds FerretDB v1.24.2 (MongoDB wire protocol on SQLite) into
#   ${XDG_CACHE_HOME:-$HOME/.cache}/retention-proxy/ferretdb-v1.24.2/ferretdb
# which is where proxy/devdb/local-database.ts looks for it when neither MONGODB_URI nor a Docker engine is available.
# Idempotent: returns at once when a working binary of that version, with the fix below, is already there. Needs
# Go >= 1.24. Only the Go module proxy is contacted; nothing else is downloaded.
#
# Why not simply `go install github.com/FerretDB/FerretDB/cmd/ferretdb@v1.24.2`:
#  (a) `go install pkg@version` looks the module up in `@v/list` for its deprecation notice, and the Go module proxy
#      answers 403 for FerretDB's list, so the command fails before building anything;
#  (b) the published module embeds an EMPTY build/version/version.txt (the file is generated in FerretDB's own
#      build), so a binary built straight from the module panics at start.
# So: a small wrapper module that requires FerretDB, vendored so that version.txt can be filled in, then built.
#
# One fix is applied to the vendored source (PATCH_LEVEL below; docs/benchmarks.md "FerretDB's own _id index"):
#  (c) its SQLite backend looks documents up by `_ferretdb_sjson->'$._id'` while the unique `_id_` index it creates is
#      on `_ferretdb_sjson->"_id"`; SQLite only uses an expression index for the same expression, so every update,
#      delete and `{_id}` find was a scan of the whole collection (EXPLAIN QUERY PLAN: SCAN) and a replace by `_id`
#      cost ~230 ms at 60 000 documents. The lookup is changed to `->'_id'`, which SQLite matches to that index and
#      which selects the same value (a label without '$' is the key's path). MongoDB answers these from its `_id`
#      index; with the fix FerretDB does too. FerretDB 2.x no longer has a SQLite backend, so there is no upstream
#      release to take instead.
set -euo pipefail

VERSION=v1.24.2
CACHE_DIR="${XDG_CACHE_HOME:-$HOME/.cache}/retention-proxy/ferretdb-${VERSION}"
BIN="${CACHE_DIR}/ferretdb"
SRC="${CACHE_DIR}/src"
# Written beside the binary once it is built with the fix above; a build without it is rebuilt.
PATCH_LEVEL="sqlite-id-index-1"
PATCH_STAMP="${CACHE_DIR}/patch-level"

# The version is read into a variable first: `bin --version | grep -q` under pipefail fails at random when grep
# exits at the first match and the binary then dies of SIGPIPE.
reports_version() { local out; out=$("$1" --version 2>/dev/null) || return 1; grep -qx "version: ${VERSION}" <<<"$out"; }
installed() { [[ -x "$BIN" ]] && reports_version "$BIN" && [[ "$(cat "$PATCH_STAMP" 2>/dev/null)" == "$PATCH_LEVEL" ]]; }

if installed; then
  echo "FerretDB ${VERSION} (${PATCH_LEVEL}) already installed: ${BIN}"
  exit 0
fi

mkdir -p "$CACHE_DIR"
# One build at a time: two runs would share the source tree (one re-vendoring it under the other's build).
if command -v flock >/dev/null 2>&1; then
  exec 9>"${CACHE_DIR}/.install.lock"
  if ! flock -w 1800 9; then
    echo "error: another install of FerretDB has held ${CACHE_DIR}/.install.lock for 30 minutes" >&2
    exit 1
  fi
  if installed; then
    echo "FerretDB ${VERSION} (${PATCH_LEVEL}) installed meanwhile: ${BIN}"
    exit 0
  fi
  # Binaries an interrupted run left half-written (the lock is ours, so no other run is writing one now).
  rm -f "${CACHE_DIR}"/ferretdb.tmp.*
fi
# A working build of this version without the fix (made by an older copy of this script) is kept, with a warning,
# when the fixed one cannot be built here for whatever reason (no Go, no module proxy, a failed build): it works,
# only its updates by _id are slow.
unfixed_build=false
if [[ -x "$BIN" ]] && reports_version "$BIN"; then unfixed_build=true; fi

TMP_BIN="${CACHE_DIR}/ferretdb.tmp.$$"
trap 'rm -f "$TMP_BIN"' EXIT

build() {
  if ! command -v go >/dev/null 2>&1; then
    echo "error: Go (>= 1.24) is needed to build FerretDB; install it (e.g. apt-get install golang-go) and run again" >&2
    return 1
  fi

  # Never fetch a newer Go toolchain, never fall back to direct VCS downloads: the module proxy only.
  export GOTOOLCHAIN=local
  export GOPROXY="${GOPROXY:-https://proxy.golang.org}"
  export GOPROXY="${GOPROXY%,direct}"
  export GOFLAGS="${GOFLAGS:-} -buildvcs=false"
  export CGO_ENABLED="${CGO_ENABLED:-0}"

  mkdir -p "$SRC"
  cd "$SRC"

  printf '%s\n' 'module retentionproxy/ferretdb' '' 'go 1.24' '' "require github.com/FerretDB/FerretDB ${VERSION}" > go.mod
  printf '%s\n' '//go:build tools' '' "// Package tools only pins FerretDB's command so that \`go mod vendor\` brings it in." \
    'package tools' '' 'import _ "github.com/FerretDB/FerretDB/cmd/ferretdb"' > tools.go

  echo "Resolving FerretDB ${VERSION} modules through ${GOPROXY} ..."
  GOFLAGS="${GOFLAGS} -mod=mod" go mod tidy
  rm -rf vendor
  go mod vendor
  chmod -R u+w vendor
  # Reason (b) above: fill in the version the binary reports (and needs to start).
  echo "${VERSION}" > vendor/github.com/FerretDB/FerretDB/build/version/version.txt

  # Reason (c) above: the whole line, exactly once before and after (another FerretDB source stops the build).
  local metadata_go=vendor/github.com/FerretDB/FerretDB/internal/backends/sqlite/metadata/metadata.go
  local old_line new_line
  old_line=$'\t'"IDColumn = DefaultColumn + \"->'\$._id'\""
  new_line=$'\t'"IDColumn = DefaultColumn + \"->'_id'\""
  if [[ "$(grep -cxF -- "$old_line" "$metadata_go")" != 1 ]]; then
    echo "error: ${metadata_go} does not hold the line the _id index fix replaces: ${old_line#$'\t'}" >&2
    return 1
  fi
  awk -v old="$old_line" -v new="$new_line" '$0 == old { print new; next } { print }' "$metadata_go" > "${metadata_go}.fixed"
  mv -f "${metadata_go}.fixed" "$metadata_go"
  if [[ "$(grep -cxF -- "$new_line" "$metadata_go")" != 1 || "$(grep -cxF -- "$old_line" "$metadata_go")" != 0 ]]; then
    echo "error: the _id index fix did not apply to ${metadata_go}" >&2
    return 1
  fi

  echo "Building FerretDB ${VERSION} (takes about 1-2 minutes on 2 cores) ..."
  go build -mod=vendor -trimpath -o "$TMP_BIN" github.com/FerretDB/FerretDB/cmd/ferretdb

  if ! reports_version "$TMP_BIN"; then
    echo "error: the built binary does not report version ${VERSION}:" >&2
    "$TMP_BIN" --version >&2 || true
    return 1
  fi
  # The fixed expression is in the SQLite backend only (PostgreSQL's uses _jsonb, MySQL's keeps '$._id').
  if ! grep -aqF "_ferretdb_sjson->'_id'" "$TMP_BIN"; then
    echo "error: the built binary does not hold the _id index fix" >&2
    return 1
  fi
}

# In a subshell with errexit of its own (a function called as an `if` condition would run without it).
set +e
(set -euo pipefail; build)
rc=$?
set -e
if [[ $rc != 0 ]]; then
  if $unfixed_build; then
    echo "warning: could not build FerretDB ${VERSION} with the _id index fix; keeping the build without it at ${BIN} (it works; its updates by _id scan their collection)" >&2
    exit 0
  fi
  exit "$rc"
fi
rm -f "$PATCH_STAMP"
mv -f "$TMP_BIN" "$BIN"
trap - EXIT
echo "$PATCH_LEVEL" > "$PATCH_STAMP"
echo "FerretDB ${VERSION} (${PATCH_LEVEL}) installed: ${BIN}"
