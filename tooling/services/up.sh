#!/usr/bin/env bash
# Start local services for Herald's tests (installing whatever is missing).
# usage: up.sh [postgres|mariadb|redis|rabbitmq|kafka|ferretdb|chromium|dapr ...]   (default: all)
# Prints `export HERALD_*=...` lines on stdout and writes them to
# $HERALD_SERVICES_DIR/env.sh, so either of these works:
#   eval "$(tooling/services/up.sh)"
#   tooling/services/up.sh >/dev/null && . /var/tmp/herald-services/env.sh
# env: REDIS_NODES (redis instances, default 1), KAFKA_VERSION, FERRETDB_VERSION, DAPR_VERSION,
#      RABBITMQ_MANAGEMENT=1, HERALD_SERVICES_DIR
HERALD_SVC_NAME=up
. "$(dirname "$0")/lib.sh"
DIR="$HERALD_SERVICES_SRC"

ALL=(postgres mariadb redis rabbitmq kafka ferretdb chromium dapr)
declare -A VAR=(
  [postgres]=HERALD_PG_URL [mariadb]=HERALD_MARIADB_URL [redis]=HERALD_REDIS_URLS
  [rabbitmq]=HERALD_RABBITMQ_URL [kafka]=HERALD_KAFKA_BROKERS [ferretdb]=HERALD_MONGO_URL
  [chromium]=HERALD_CHROMIUM [dapr]=HERALD_DAPRD
)
declare -A APT=(
  [postgres]="postgresql postgresql-contrib" [mariadb]="mariadb-server mariadb-client"
  [redis]="redis-server redis-tools" [rabbitmq]="rabbitmq-server" [kafka]="" [ferretdb]=""
  [chromium]="chromium" [dapr]=""
)

case "${1:-}" in -h|--help|help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 0 ;; esac
require_root

# selection, in start order (ferretdb needs postgres; its script starts it anyway)
want=("$@"); ((${#want[@]})) || want=("${ALL[@]}")
for w in "${want[@]}"; do [[ -n "${VAR[$w]:-}" ]] || die "unknown service '$w' (known: ${ALL[*]})"; done
selected=()
for s in "${ALL[@]}"; do for w in "${want[@]}"; do [[ "$s" == "$w" ]] && { selected+=("$s"); break; }; done; done

t_start=$SECONDS
mkdir -p "$HERALD_SERVICES_DIR"

# Long downloads/builds run in the background while the apt packages install.
declare -A BG_PID=()
bg_log() { echo "$HERALD_SERVICES_DIR/$1-install.log"; }
cleanup() {
  local n
  for n in "${!BG_PID[@]}"; do
    if proc_alive "${BG_PID[$n]}"; then kill "${BG_PID[$n]}" 2>/dev/null || true; fi
  done
}
trap cleanup EXIT
for s in "${selected[@]}"; do
  case "$s" in
    kafka|ferretdb|dapr)
      log "background: $s.sh install (log: $(bg_log "$s"))"
      "$DIR/$s.sh" install >"$(bg_log "$s")" 2>&1 &
      BG_PID[$s]=$!
      ;;
  esac
done

# one apt-get transaction for every selected engine
pkgs=()
for s in "${selected[@]}"; do for p in ${APT[$s]}; do pkgs+=("$p"); done; done
if ((${#pkgs[@]})); then apt_install "${pkgs[@]}"; fi

declare -A VALUE=()
for s in "${selected[@]}"; do
  t0=$SECONDS
  if [[ -n "${BG_PID[$s]:-}" ]]; then
    if ! wait "${BG_PID[$s]}"; then
      tail_log "$(bg_log "$s")"
      die "$s.sh install failed"
    fi
    unset "BG_PID[$s]"
  fi
  out="$("$DIR/$s.sh" start)" || die "$s.sh failed (see the messages above)"
  VALUE[$s]="$(printf '%s\n' "$out" | sed '/^$/d' | paste -sd, -)"
  log "$s up in $((SECONDS - t0))s: ${VALUE[$s]}"
done

# env.sh: this run's values, plus earlier values for services not started now
env_file="$HERALD_SERVICES_DIR/env.sh"
new_lines=("export HERALD_SERVICES_DIR='$HERALD_SERVICES_DIR'")
for s in "${selected[@]}"; do new_lines+=("export ${VAR[$s]}='${VALUE[$s]}'"); done
{
  echo "# written by tooling/services/up.sh on $(date -u +%FT%TZ)"
  if [[ -f "$env_file" ]]; then
    pattern="HERALD_SERVICES_DIR"
    for s in "${selected[@]}"; do pattern+="|${VAR[$s]}"; done
    grep -E '^export ' "$env_file" | grep -Ev "^export ($pattern)=" || true
  fi
  printf '%s\n' "${new_lines[@]}"
} >"$env_file.tmp"
mv "$env_file.tmp" "$env_file"

log "all up in $((SECONDS - t_start))s (${selected[*]}); env written to $env_file"
printf '%s\n' "${new_lines[@]}"
