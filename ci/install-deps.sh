#!/usr/bin/env bash
# Install the Debian packages listed in ci/packages.txt (idempotent: does
# nothing when they are all present).
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

mapfile -t pkgs < <(grep -v '^#' "$CI_DIR/packages.txt" | grep -v '^$' | sort -u)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing+=("$p")
done
# Node.js: these machines ship their own node and npm (which conflict with
# Debian's npm package); fall back to Debian's where there is none.
command -v npm >/dev/null || missing+=(nodejs npm)
if [ ${#missing[@]} -eq 0 ]; then
	log "all ${#pkgs[@]} packages present"
	exit 0
fi
[ "$(id -u)" = 0 ] || die "missing packages (${missing[*]}) and not root: run as root or install them"
export DEBIAN_FRONTEND=noninteractive
run_logged /tmp/daxtrace-apt-update.log "apt-get update" apt-get update
run_logged /tmp/daxtrace-apt-install.log "installing ${#missing[@]} packages" \
	apt-get install -y --no-install-recommends "${missing[@]}"
