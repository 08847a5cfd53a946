#!/usr/bin/env bash
# Vendor the world map used by governance/worldmap.py into static/vendor/world/.
# Installs the npm package into a throwaway directory (never into the repo), copies the
# 1:110m countries TopoJSON and the package licence, and records the exact version.
set -euo pipefail

PACKAGE="world-atlas"
VERSION="${WORLD_ATLAS_VERSION:-2.0.2}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DEST="$ROOT/static/vendor/world"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

(cd "$TMP" && npm init -y >/dev/null && npm install --no-audit --no-fund "$PACKAGE@$VERSION" >/dev/null)
PKG="$TMP/node_modules/$PACKAGE"
mkdir -p "$DEST"
cp "$PKG/countries-110m.json" "$DEST/countries-110m.json"
cp "$PKG/LICENSE" "$DEST/LICENSE"
installed="$(node -p "require('$PKG/package.json').version")"
echo "Vendored $PACKAGE@$installed into $DEST (update README.md there if the version changed)"
