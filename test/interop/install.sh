#!/usr/bin/env bash
# Installs the interop peers from the repository's own files; idempotent.
#   Debian: python3-websockets (for /usr/bin/python3) and chromium, only if missing.
#   npm:    ws 8.x and playwright-core from test/interop/node/package-lock.json
#           (npm ci), only if node_modules is missing or older than the lock.
# Never downloads a browser of its own: playwright-core drives /usr/bin/chromium.
set -euo pipefail
cd "$(dirname "$0")"
start=$SECONDS

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi

need=()
/usr/bin/python3 -c 'import websockets' 2>/dev/null || need+=(python3-websockets)
[ -x /usr/bin/chromium ] || need+=(chromium)
if [ ${#need[@]} -gt 0 ]; then
	echo "install.sh: apt-get install ${need[*]}"
	export DEBIAN_FRONTEND=noninteractive
	$sudo apt-get update -qq
	$sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi

command -v node >/dev/null || { echo "install.sh: node (Node.js 18+) is required" >&2; exit 1; }
command -v npm >/dev/null || { echo "install.sh: npm is required" >&2; exit 1; }
stamp=node/node_modules/.package-lock.json
if [ ! -d node/node_modules/ws ] || [ ! -d node/node_modules/playwright-core ] ||
	[ ! -f "$stamp" ] || [ node/package-lock.json -nt "$stamp" ]; then
	echo "install.sh: npm ci in test/interop/node"
	(cd node && npm ci --no-audit --no-fund --loglevel=error)
fi

echo "install.sh: peers ready in $((SECONDS - start)) s:" \
	"python3-websockets $(/usr/bin/python3 -c 'import websockets; print(websockets.__version__)')," \
	"$(/usr/bin/chromium --version 2>/dev/null | head -n1)," \
	"node $(node --version), ws $(node -p "require('./node/node_modules/ws/package.json').version")," \
	"playwright-core $(node -p "require('./node/node_modules/playwright-core/package.json').version")"
