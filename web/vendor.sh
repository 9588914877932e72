#!/usr/bin/env bash
# Install the pinned front-end libraries (web/package-lock.json) and copy the built files pakhuis
# serves into api/static/vendor/, with their licences. The copies are committed, so that
# `pip install` alone serves the pages; run this after changing a version in web/package.json.
set -euo pipefail
cd "$(dirname "$0")"
npm ci --ignore-scripts --no-audit --no-fund
out=../api/static/vendor
rm -rf "$out"
mkdir -p "$out"
cp node_modules/swagger-ui-dist/swagger-ui-bundle.js node_modules/swagger-ui-dist/swagger-ui.css "$out/"
cp node_modules/swagger-ui-dist/LICENSE "$out/swagger-ui.LICENSE"
cp node_modules/redoc/bundles/redoc.standalone.js "$out/"
cp node_modules/redoc/LICENSE "$out/redoc.LICENSE"
{
  echo "Vendored by web/vendor.sh from the npm registry (versions pinned in web/package-lock.json):"
  for pkg in swagger-ui-dist redoc; do
    node -e "const p=require('./node_modules/$pkg/package.json'); console.log('- ' + p.name + ' ' + p.version + ' (' + p.license + ')')"
  done
} > "$out/VENDORED.txt"
ls -l "$out"
