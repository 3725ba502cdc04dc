#!/usr/bin/env bash
# Builds FerretDB v1.24.2 (MongoDB wire protocol on SQLite) into
#   ${XDG_CACHE_HOME:-$HOME/.cache}/retention-proxy/ferretdb-v1.24.2/ferretdb
# which is where proxy/devdb/local-database.ts looks for it when neither MONGODB_URI nor a Docker engine is available.
# Idempotent: returns at once when a working binary of that version is already there. Needs Go >= 1.24.
# Only the Go module proxy is contacted; nothing else is downloaded.
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
#      cost ~150 ms at 60 000 documents. The lookup is changed to `->'_id'`, which SQLite matches to that index and
#      which selects the same value (a label without '$' is the key's path). MongoDB answers these from its `_id`
#      index; with the fix FerretDB does too. FerretDB 2.x no longer has a SQLite backend, so there is no upstream
#      release to take instead.
set -euo pipefail

VERSION=v1.24.2
CACHE_DIR="${XDG_CACHE_HOME:-$HOME/.cache}/retention-proxy/ferretdb-${VERSION}"
BIN="${CACHE_DIR}/ferretdb"
SRC="${CACHE_DIR}/src"
# Written beside the binary once it is built with the fixes above; an older build without it is rebuilt.
PATCH_LEVEL="sqlite-id-index-1"
PATCH_STAMP="${CACHE_DIR}/patch-level"

# The version is read into a variable first: `bin --version | grep -q` under pipefail fails at random when grep
# exits at the first match and the binary then dies of SIGPIPE.
reports_version() { local out; out=$("$1" --version 2>/dev/null) || return 1; grep -qx "version: ${VERSION}" <<<"$out"; }

if [[ -x "$BIN" ]] && reports_version "$BIN" && [[ "$(cat "$PATCH_STAMP" 2>/dev/null)" == "$PATCH_LEVEL" ]]; then
  echo "FerretDB ${VERSION} (${PATCH_LEVEL}) already installed: ${BIN}"
  exit 0
fi

if ! command -v go >/dev/null 2>&1; then
  echo "error: Go (>= 1.24) is needed to build FerretDB; install it (e.g. apt-get install golang-go) and run again" >&2
  exit 1
fi

# Never fetch a newer Go toolchain, never fall back to direct VCS downloads: the module proxy only.
export GOTOOLCHAIN=local
export GOPROXY="${GOPROXY:-https://proxy.golang.org}"
export GOPROXY="${GOPROXY%,direct}"
export GOFLAGS="${GOFLAGS:-} -buildvcs=false"
export CGO_ENABLED="${CGO_ENABLED:-0}"

mkdir -p "$SRC"
cd "$SRC"

cat > go.mod <<EOF
module retentionproxy/ferretdb

go 1.24

require github.com/FerretDB/FerretDB ${VERSION}
EOF

cat > tools.go <<'EOF'
//go:build tools

// Package tools only pins FerretDB's command so that `go mod vendor` brings it in.
package tools

import _ "github.com/FerretDB/FerretDB/cmd/ferretdb"
EOF

echo "Resolving FerretDB ${VERSION} modules through ${GOPROXY} ..."
GOFLAGS="${GOFLAGS} -mod=mod" go mod tidy
rm -rf vendor
go mod vendor
chmod -R u+w vendor
# Reason (b) above: fill in the version the binary reports (and needs to start).
echo "${VERSION}" > vendor/github.com/FerretDB/FerretDB/build/version/version.txt
# Reason (c) above. The build stops if the line is not found exactly once (another FerretDB source).
METADATA_GO=vendor/github.com/FerretDB/FerretDB/internal/backends/sqlite/metadata/metadata.go
ID_LOOKUP_OLD="IDColumn = DefaultColumn + \"->'\$._id'\""
ID_LOOKUP_NEW="IDColumn = DefaultColumn + \"->'_id'\""
if [[ "$(grep -cF "$ID_LOOKUP_OLD" "$METADATA_GO")" != 1 ]]; then
  echo "error: ${METADATA_GO} does not hold the line the _id index fix replaces: ${ID_LOOKUP_OLD}" >&2
  exit 1
fi
metadata_src=$(<"$METADATA_GO")
printf '%s\n' "${metadata_src/"$ID_LOOKUP_OLD"/"$ID_LOOKUP_NEW"}" > "$METADATA_GO"
if [[ "$(grep -cF "$ID_LOOKUP_NEW" "$METADATA_GO")" != 1 ]]; then
  echo "error: the _id index fix did not apply to ${METADATA_GO}" >&2
  exit 1
fi

echo "Building FerretDB ${VERSION} (takes about 1-2 minutes on 2 cores) ..."
TMP_BIN="${CACHE_DIR}/ferretdb.tmp.$$"
trap 'rm -f "$TMP_BIN"' EXIT
go build -mod=vendor -trimpath -o "$TMP_BIN" github.com/FerretDB/FerretDB/cmd/ferretdb

if ! reports_version "$TMP_BIN"; then
  echo "error: the built binary does not report version ${VERSION}:" >&2
  "$TMP_BIN" --version >&2 || true
  exit 1
fi
rm -f "$PATCH_STAMP"
mv -f "$TMP_BIN" "$BIN"
trap - EXIT
echo "$PATCH_LEVEL" > "$PATCH_STAMP"
echo "FerretDB ${VERSION} (${PATCH_LEVEL}) installed: ${BIN}"
