#!/usr/bin/env bash
# `make run`: starts the demo shop's order-status service in the background (unless something
# already listens on its address), then the gateway in the foreground. The service is stopped
# when the gateway exits. Usage: scripts/run.sh [CONFIG]; binaries from $CARGO_TARGET_DIR/release.
set -euo pipefail
bin="${CARGO_TARGET_DIR:?set CARGO_TARGET_DIR (make run does)}/release"
config="${1:-switchboard.toml}"
shop="127.0.0.1:8090"   # the address dialplans/hotline.toml asks

mkdir -p var
if (exec 3<>"/dev/tcp/${shop%:*}/${shop##*:}") 2>/dev/null; then
  echo "demo shop: $shop is already taken; the hotline will ask whatever listens there"
else
  "$bin/switchboard-demo-shop" --listen "$shop" --orders demo/orders.json >>var/demo-shop.log 2>&1 &
  shop_pid=$!
  trap 'kill "$shop_pid" 2>/dev/null; wait "$shop_pid" 2>/dev/null || true' EXIT
  trap 'exit 130' INT TERM
  echo "demo shop: order-status service on http://$shop (log: var/demo-shop.log, orders: demo/orders.json)"
  echo "           ask the hotline for order status, then give 4512, 7788, 1234 or 20250"
fi
"$bin/switchboard" --config "$config" serve
