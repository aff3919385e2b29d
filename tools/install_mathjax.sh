#!/usr/bin/env bash
# Install the MathJax that the HTML book serves from its own _static/mathjax.
#
# The version is pinned, with its integrity hash, in
# static/mathjax/package-lock.json (mathjax 3.2.2); `npm ci` fetches exactly
# that from the npm registry at build time. Readers never load MathJax from a
# CDN.
#
# Usage: tools/install_mathjax.sh [DEST]      (DEST defaults to .venv/mathjax)
#
# Result: DEST/static/mathjax/ holds MathJax's browser bundle (its es5/
# folder). config.ini's [build] sphinx_configs adds DEST/static to Sphinx's
# html_static_path, so Sphinx copies it to _build/html/_static/mathjax/, and
# sets mathjax_path = 'mathjax/tex-mml-chtml.js' (relative: under _static/).
set -euo pipefail
cd "$(dirname "$0")/.."

DEST=${1:-.venv/mathjax}
bash tools/install_pinned_npm_package.sh static/mathjax mathjax "$DEST"
PKG="$DEST/node_modules/mathjax"
GOT=$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$PKG/package.json" | head -1)

# Stage the browser files where html_static_path picks them up. latest.js is
# left out: its only job is to load "the latest MathJax" from a CDN.
rm -rf "$DEST/static.new"
mkdir -p "$DEST/static.new"
cp -R "$PKG/es5" "$DEST/static.new/mathjax"
rm -f "$DEST/static.new/mathjax/latest.js"
cp "$PKG/LICENSE" "$DEST/static.new/mathjax/LICENSE"
rm -rf "$DEST/static"
mv "$DEST/static.new" "$DEST/static"
echo "install_mathjax: mathjax $GOT in $DEST/static/mathjax"
