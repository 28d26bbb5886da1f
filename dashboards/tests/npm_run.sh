#!/bin/bash
# Run a node test of dashboards/ (validate | panels), installing the npm
# packages of package-lock.json first when node_modules/ does not hold them
# yet (npm install of the locked versions; offline once the npm cache has
# them.  Not "npm ci": chdb lists optional per-platform packages that are not
# all published, which npm ci refuses).
set -u
# shellcheck source=SCRIPTDIR/../../ci/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../../ci/lib.sh"
# shellcheck source=SCRIPTDIR/../../tests/ktap.sh
. "$REPO_DIR/tests/ktap.sh"
what=${1:?usage: npm_run.sh validate|panels [args]}
shift
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
	ktap_skip_all "node/npm not installed (ci/packages.txt)"
fi
cd "$REPO_DIR/dashboards" || exit 1
if ! cmp -s package-lock.json node_modules/.daxtrace-lock 2>/dev/null; then
	npm install --no-save --prefer-offline --no-audit --no-fund >&2 || {
		ktap_skip_all "npm install failed (no network and no npm cache?)"; }
	cp package-lock.json node_modules/.daxtrace-lock
fi
case $what in
validate) exec node tests/validate_dashboards.mjs "$@" ;;
panels) exec node tests/panels_test.mjs "$@" ;;
*) echo "unknown: $what" >&2; exit 2 ;;
esac
