#!/bin/sh
# The viewer's library (dwv, from package-lock.json's node_modules) as one ES module with its
# dependencies, its decoder workers beside it. Their URL is taken from the bundle's own URL, not
# the page's (the --define). Run by `make static-vendor` and by the Dockerfile's static stage.
set -eu
out=diagnoses/static/diagnoses/vendor/dwv
node_modules/.bin/esbuild node_modules/dwv/dist/dwv.min.js --bundle --format=esm --minify \
  --define:document.baseURI=import.meta.url --log-level=warning --outfile="$out/dwv.js"
rm -rf "$out/assets" && mkdir -p "$out/assets/workers"
cp node_modules/dwv/dist/assets/workers/*.min.js "$out/assets/workers/"
