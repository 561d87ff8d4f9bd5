#!/usr/bin/env bash
# Quick start, main job: install, ingest the bundled sample transcripts into an embedded library, search it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh embed
export ATLAS_LIBRARY="${ATLAS_LIBRARY:-$(pwd)/.atlas-demo/library}"
.venv/bin/atlas ingest samples/
for q in "renting servers versus buying your own hardware" "how does the router pick which expert handles a token" "Pedalboard"; do
  .venv/bin/atlas search "$q" --limit 3
done
echo
echo "Library: $ATLAS_LIBRARY   Try: .venv/bin/atlas search \"your question\" --library \"$ATLAS_LIBRARY\""
