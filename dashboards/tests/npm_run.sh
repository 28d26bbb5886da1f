#!/bin/bash
# Run a node test of dashboards/ (validate | panels), installing the npm
# packages of package-lock.json first when node_modules/ does not hold them
# yet (npm install of the locked versions; offline once the npm cache has
# them.  Not "npm ci": chdb lists optional per-platform packages that are not
# all published, which npm ci refuses).
set -u
HERE=$(cd "$(dirname "$0")/.." && pwd)
what=${1:?usage: npm_run.sh validate|panels [args]}
shift
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
	echo "1..0 # SKIP node/npm not installed (ci/packages.txt)"
	exit 0
fi
cd "$HERE" || exit 1
if ! cmp -s package-lock.json node_modules/.daxtrace-lock 2>/dev/null; then
	npm install --no-save --prefer-offline --no-audit --no-fund >&2 || {
		echo "1..0 # SKIP npm install failed (no network and no npm cache?)"; exit 0; }
	cp package-lock.json node_modules/.daxtrace-lock
fi
case $what in
validate) exec node tests/validate_dashboards.mjs "$@" ;;
panels) exec node tests/panels_test.mjs "$@" ;;
*) echo "unknown: $what" >&2; exit 2 ;;
esac
