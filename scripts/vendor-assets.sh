#!/usr/bin/env bash
# The packages pinned in package-lock.json, installed with npm: the admin console's browser libraries, whose
# served files are copied into the directory given (app/static/vendor for `make assets`, the image build),
# and DB-IP's city database, which the app reads where npm puts it (app.serving.geo, REGION_DATABASE_DIR).
set -euo pipefail
dest=${1:?usage: scripts/vendor-assets.sh DEST}
npm ci --no-audit --no-fund --loglevel=error
mkdir -p "$dest"
cp node_modules/@dailymotion/vast-client/dist/vast-client.min.js node_modules/chart.js/dist/chart.umd.min.js "$dest/"
