#!/usr/bin/env bash
# Stop local services started by up.sh / the per-engine scripts (data is kept).
# usage: down.sh [postgres|mariadb|redis|rabbitmq|kafka|ferretdb ...]   (default: all)
# To also delete all data: down.sh && rm -rf "${HERALD_SERVICES_DIR:-/var/tmp/herald-services}"/{postgres,mariadb,redis,rabbitmq,kafka/data,ferretdb/state}
HERALD_SVC_NAME=down
. "$(dirname "$0")/lib.sh"
DIR="$HERALD_SERVICES_SRC"

case "${1:-}" in -h|--help|help) sed -n '2,4p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 0 ;; esac
require_root

ORDER=(ferretdb kafka rabbitmq redis mariadb postgres)   # reverse of up.sh
want=("$@"); ((${#want[@]})) || want=("${ORDER[@]}")
for w in "${want[@]}"; do
  [[ " ${ORDER[*]} " == *" $w "* ]] || die "unknown service '$w' (known: ${ORDER[*]})"
done

rc=0
for s in "${ORDER[@]}"; do
  [[ " ${want[*]} " == *" $s "* ]] || continue
  "$DIR/$s.sh" stop || { warn "$s.sh stop failed"; rc=1; }
done
((rc == 0)) && log "stopped: ${want[*]}"
exit $rc
