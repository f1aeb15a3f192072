#!/usr/bin/env bash
# The admin console's browser libraries, pinned in package-lock.json: install them with npm and copy the
# files the app serves into the directory given (app/static/vendor for `make assets`, the image build).
set -euo pipefail
dest=${1:?usage: scripts/vendor-assets.sh DEST}
npm ci --no-audit --no-fund --loglevel=error
mkdir -p "$dest"
cp node_modules/@dailymotion/vast-client/dist/vast-client.min.js node_modules/chart.js/dist/chart.umd.min.js "$dest/"
