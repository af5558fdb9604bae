#!/usr/bin/env bash
# The demo flow of `make demo`, inside the Quorum image (installed as /usr/local/bin/quorum-demo), against a running
# cluster (docker compose --profile demo run --rm demo, or the k8s Job quorum-demo):
#   1. history: bars before DEMO_SPLIT are validated, archived and published (quorum ingest);
#   2. initial models: quorum train publishes the training jobs, the trainer workers share them;
#   3. live paper trading: the bars from DEMO_SPLIT on are dropped into quorum-ingest's inbox (DEMO_INBOX, a volume
#      shared with quorum-ingest); without an inbox they are published with quorum ingest --from instead;
#   4. when every stage is idle: the summary (also as JSON in DEMO_OUT).
# Environment: QUORUM_KAFKA_BROKERS and QUORUM_POSTGRES_URL (or POSTGRES_PASSWORD_FILE, see quorum-entrypoint),
# DEMO_SPLIT (2019-01-01), DEMO_DATA (/opt/quorum/data/market), DEMO_INBOX (unset: no inbox),
# DEMO_MONITOR_URL (http://monitor:8080), DEMO_OUT (/tmp/quorum-demo), DEMO_TRAIN_TIMEOUT (900 s).
set -euo pipefail
start=$(date +%s)
say() { printf '\n[demo] %s\n' "$*" >&2; }
split=${DEMO_SPLIT:-2019-01-01}
data=${DEMO_DATA:-/opt/quorum/data/market}
inbox=${DEMO_INBOX:-}
monitor=${DEMO_MONITOR_URL:-http://monitor:8080}
out=${DEMO_OUT:-/tmp/quorum-demo}
mkdir -p "$out"

files=("$data"/*_usd_30m.csv.gz)
[ -e "${files[0]}" ] || { say "no *_usd_30m.csv.gz files in $data"; exit 1; }

say "history: bars before $split → archive + md.bars"
quorum ingest "${files[@]}" --to "$split"
# Features and inference finish the history before any model exists: a model announced while inference is still
# reading historical vectors would trade on history too (seen on the local cluster: twice the predictions).
quorum wait --idle 3 --timeout 300

say "initial models: training jobs for every symbol, shared by the trainer workers"
quorum train --until "$split" --wait --timeout "${DEMO_TRAIN_TIMEOUT:-900}"
quorum models list
quorum wait --idle 3 --timeout 300

if [ -n "$inbox" ]; then
  say "live paper trading: the bars from $split on go through quorum-ingest's inbox ($inbox)"
  staging="$inbox/.incoming-$$"
  mkdir -p "$staging"
  for f in "${files[@]}"; do
    name=$(basename "$f" .csv.gz)
    # The header and the rows at or after the split (ISO timestamps compare as text).
    gzip -dc "$f" | awk -F, -v s="$split" 'NR == 1 || $1 >= s' > "$staging/${name}_live.csv"
  done
  # Renamed into the watched folder only when complete, so the inbox never sees a half-written file.
  mv "$staging"/*.csv "$inbox"/
  rmdir "$staging"
  sleep 2
else
  say "live paper trading: no inbox (DEMO_INBOX unset); publishing the bars from $split on with quorum ingest"
  quorum ingest "${files[@]}" --from "$split"
fi
quorum wait --idle 10 --timeout 1200

end=$(date +%s)
say "summary"
curl -fsS --max-time 5 "$monitor/status.json" > "$out/monitor-status.json"
quorum summary --monitor-json "$out/monitor-status.json" --json "$out/demo-summary.json" --elapsed $((end - start))
say "the cluster keeps running; the monitor's status page: $monitor/status"
