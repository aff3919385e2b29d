#!/usr/bin/env bash
# Install one npm package exactly as pinned, with its integrity hash, in
# PIN_DIR/package-lock.json: `npm ci` fetches it from the npm registry into
# DEST/node_modules/PACKAGE, and the installed version is checked against
# PIN_DIR/package.json. No install script runs (--ignore-scripts).
#
# Usage: tools/install_pinned_npm_package.sh PIN_DIR PACKAGE DEST
# (tools/install_mathjax.sh and tools/install_revealjs.sh call it)
set -euo pipefail
cd "$(dirname "$0")/.."

PIN_DIR=$1
PACKAGE=$2
DEST=$3
WANT=$(sed -n "s/.*\"$PACKAGE\": *\"\([^\"]*\)\".*/\1/p" "$PIN_DIR/package.json" | head -1)

command -v npm >/dev/null || {
  echo "install $PACKAGE: npm is missing (Debian: apt-get install -y nodejs npm)" >&2
  exit 1
}

mkdir -p "$DEST"
cp "$PIN_DIR/package.json" "$PIN_DIR/package-lock.json" "$DEST/"
(cd "$DEST" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)

GOT=$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$DEST/node_modules/$PACKAGE/package.json" | head -1)
if [ "$GOT" != "$WANT" ]; then
  echo "install $PACKAGE: expected $PACKAGE $WANT, npm installed '$GOT'" >&2
  exit 1
fi
