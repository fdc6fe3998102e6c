#!/usr/bin/env bash
# A stock-price ticker: random-walk prices for a few symbols, one line per tick, piped
# into `herald publish` (one publisher connection per symbol, streaming).
#   examples/ticker.sh [TICKS] [INTERVAL_SECONDS]    (defaults: forever, 0.2)
set -euo pipefail
HERALD=${HERALD:-$(dirname "$0")/../.build/release/herald}
ticks=${1:-0}
interval=${2:-0.2}

tick() {
  local symbol=$1 price=$2 n=0
  while [ "$ticks" = 0 ] || [ "$n" -lt "$ticks" ]; do
    price=$(awk -v p="$price" -v r="$RANDOM" 'BEGIN { printf "%.2f", p * (1 + (r - 16384) / 16384 / 200) }')
    printf '{"symbol":"%s","price":%s,"ts":%s}\n' "$symbol" "$price" "$(date +%s%3N)"
    n=$((n + 1))
    sleep "$interval"
  done | "$HERALD" publish "prices.$symbol"
}

tick AAPL 189.20 &
tick MSFT 410.10 &
tick NVDA 121.50 &
wait
