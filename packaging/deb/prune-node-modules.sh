#!/usr/bin/env bash
# Strips a production node_modules (the deb's) down to what Node loads at run time, and the
# license texts. npm packages often publish their tests, examples, screenshots, TypeScript
# sources and declarations, source maps, READMEs and tool configs; none of them runs, and
# on a host they are only bytes and lintian findings (an example page even loads jQuery
# from a CDN). Files left are made 0644 (Node reads them), but for scripts that start with
# "#!", which keep 0755 as their authors meant (no command links to them here).
# Usage: prune-node-modules.sh NODE_MODULES_DIR
set -euo pipefail
dir=${1:?usage: prune-node-modules.sh NODE_MODULES_DIR}

# Directories no package loads from at run time.
find "$dir" -depth -type d \( -name test -o -name tests -o -name __tests__ -o -name example \
  -o -name examples -o -name assets -o -name screenshots -o -name .github \) -exec rm -rf {} +
# Files: tool configs and VCS files (dot files), docs other than license texts, images,
# TypeScript sources and declarations, source maps, CoffeeScript and HTML examples.
find "$dir" -type f \( -name '.*' -o \( \( -iname '*.md' -o -iname '*.markdown' \) ! -iname 'licen[cs]e*' \) \
  -o -name '*.png' -o -name '*.ts' -o -name '*.mts' -o -name '*.cts' -o -name '*.map' \
  -o -name '*.coffee' -o -name '*.html' \) -delete
find "$dir" -depth -type d -empty -delete
find "$dir" -type f -exec chmod 0644 {} +
find "$dir" -type f -exec sh -c 'for f; do [ "$(head -c 2 "$f")" = "#!" ] && chmod 0755 "$f"; done; true' sh {} +
