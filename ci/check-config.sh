#!/usr/bin/env bash
# check-config.sh CONFIG FRAGMENT...: fail when an option a fragment asks for
# did not survive olddefconfig.  Kconfig drops unmet requests silently (a
# missing dependency turns =y into "is not set"), which otherwise shows up
# much later as a lab kernel that cannot mount -o dax or load BPF.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[ $# -ge 2 ] || die "usage: check-config.sh CONFIG FRAGMENT..."
config=$1
shift
[ -f "$config" ] || die "config not found: $config"

dropped=()
for frag in "$@"; do
	while IFS= read -r line; do
		case $line in
		CONFIG_*=*)
			opt=${line%%=*}
			grep -qxF "$line" "$config" && continue
			now=$(grep -E "^$opt=|^# $opt is not set" "$config" || true)
			dropped+=("$line (now: ${now:-absent}) [$(basename "$frag")]")
			;;
		"# CONFIG_"*" is not set")
			opt=${line#\# }
			opt=${opt%% *}
			grep -qE "^$opt=" "$config" && dropped+=("$line (now: $(grep -E "^$opt=" "$config")) [$(basename "$frag")]")
			;;
		esac
	done <"$frag"
done

if [ ${#dropped[@]} -gt 0 ]; then
	die "kconfig: ${#dropped[@]} requested option(s) dropped by olddefconfig: $(printf '%s; ' "${dropped[@]}")"
fi
log "kconfig: all options requested by $# fragment(s) are set"
