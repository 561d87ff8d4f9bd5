#!/usr/bin/env bash
# Quick start, main job: install, ingest the bundled sample transcripts into an embedded library, search it,
# ask it a question (answered by the bundled local model, every sentence cited), then serve the web page.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh all
export ATLAS_LIBRARY="${ATLAS_LIBRARY:-$(pwd)/.atlas-demo/library}"
atlas=.venv/bin/atlas
$atlas ingest samples/
for q in "renting servers versus buying your own hardware" "how does the router pick which expert handles a token" "Pedalboard"; do
  $atlas search "$q" --limit 3
done
$atlas ask "Is it cheaper to buy your own GPUs or to rent them in the cloud?"
echo
echo "Library: $ATLAS_LIBRARY"
# Serve only when someone is there to open the page (not in CI or a pipe); ATLAS_DEMO_SERVE=0 skips it.
if [ -t 0 ] && [ "${ATLAS_DEMO_SERVE:-1}" != "0" ]; then
  echo "Web page and API: http://127.0.0.1:8000/  (API docs at /docs; Ctrl-C stops)"
  exec $atlas serve --host 127.0.0.1 --port "${ATLAS_DEMO_PORT:-8000}"
fi
echo "Next: $atlas serve   then open http://127.0.0.1:8000/"
