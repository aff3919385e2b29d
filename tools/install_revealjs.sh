#!/usr/bin/env bash
# Install the reveal.js that the lecture slides (make slides) use.
#
# The version is pinned, with its integrity hash, in
# static/revealjs/package-lock.json (reveal.js 4.6.0, the last 4.x:
# nbconvert 7's reveal template loads reveal.js 4's dist/ and plugin/ files);
# `npm ci` fetches exactly that from the npm registry. tools/build_slides.py
# copies what the decks need next to them in _build/slides/reveal.js, so no
# deck loads anything from a CDN.
#
# Usage: tools/install_revealjs.sh [DEST]     (DEST defaults to .venv/revealjs)
#
# Result: DEST/node_modules/reveal.js/ holds the package (dist/, plugin/).
set -euo pipefail
cd "$(dirname "$0")/.."

DEST=${1:-.venv/revealjs}
bash tools/install_pinned_npm_package.sh static/revealjs reveal.js "$DEST"
PKG="$DEST/node_modules/reveal.js"
GOT=$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$PKG/package.json" | head -1)
# The stamp that make checks: written last, so a failed install reruns.
touch "$DEST/.installed"
echo "install_revealjs: reveal.js $GOT in $PKG"
