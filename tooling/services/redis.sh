#!/usr/bin/env bash
# Redis (Debian `redis-server`): N independent instances on 127.0.0.1,
# ports 6379, 6380, 6381... (no persistence).  N = --nodes N | $REDIS_NODES | 1.
#   URLs: redis://127.0.0.1:6379 (one line per node)
# usage: redis.sh [start] [--nodes N]
#        redis.sh stop [PORT]      stop one node, or every node we started
#        redis.sh restart [PORT]   restart one node (chaos tests), or all
#        redis.sh status | url [--nodes N]
. "$(dirname "$0")/lib.sh"

R_HOST=127.0.0.1
R_BASE_PORT="${REDIS_BASE_PORT:-6379}"
NODES="${REDIS_NODES:-1}"
BASE="$HERALD_SERVICES_DIR/redis"

cmd="start"
args=()
while (($#)); do
  case "$1" in
    --nodes) NODES="${2:?--nodes needs a number}"; shift 2 ;;
    --nodes=*) NODES="${1#--nodes=}"; shift ;;
    start|stop|restart|status|url) cmd="$1"; shift ;;
    -h|--help|help) cmd=help; shift ;;
    *) args+=("$1"); shift ;;
  esac
done
[[ "$NODES" =~ ^[1-9][0-9]*$ ]] || die "--nodes / REDIS_NODES must be a positive integer (got '$NODES')"

ports() { local i; for ((i = 0; i < NODES; i++)); do echo $((R_BASE_PORT + i)); done; }
node_dir() { echo "$BASE/$1"; }
pidfile() { echo "$BASE/$1/redis.pid"; }
logfile() { echo "$BASE/$1/redis.log"; }

node_healthy() {
  local port="$1"
  pid_alive "$(pidfile "$port")" &&
    [[ "$(timeout 3 redis-cli -h "$R_HOST" -p "$port" ping 2>/dev/null)" == PONG ]]
}

write_conf() {
  local port="$1" dir; dir="$(node_dir "$port")"
  mkdir -p "$dir"
  cat >"$dir/redis.conf" <<EOF
# written by tooling/services/redis.sh - rewritten on every start
bind $R_HOST
port $port
protected-mode yes
daemonize yes
supervised no
pidfile $dir/redis.pid
logfile $dir/redis.log
dir $dir
save ""
appendonly no
loglevel notice
databases 16
maxclients 10000
tcp-keepalive 60
EOF
}

start_node() {
  local port="$1" dir; dir="$(node_dir "$port")"
  if node_healthy "$port"; then log "node $port already running"; return 0; fi
  if port_open "$R_HOST" "$port"; then
    die "port $R_HOST:$port is taken by a process that is not our redis node (no live pidfile at $(pidfile "$port"))"
  fi
  write_conf "$port"
  rm -f "$(pidfile "$port")"
  rotate_log "$(logfile "$port")"
  log "starting redis node on $R_HOST:$port"
  chown -R redis:redis "$dir"
  (cd "$dir" && close_extra_fds && run_as redis redis-server "$dir/redis.conf" >>"$(logfile "$port")" 2>&1) ||
    die "redis-server failed to start on port $port" "$(logfile "$port")"
  local deadline=$((SECONDS + 30))
  until node_healthy "$port"; do
    ((SECONDS < deadline)) || die "redis node $port did not answer PING within 30s" "$(logfile "$port")"
    sleep 0.2
  done
}

stop_node() {
  local port="$1" pf; pf="$(pidfile "$port")"
  if ! pid_alive "$pf"; then log "node $port not running"; rm -f "$pf"; return 0; fi
  log "stopping redis node $port"
  timeout 5 redis-cli -h "$R_HOST" -p "$port" shutdown nosave >/dev/null 2>&1 || true
  stop_pidfile "$pf" 15
  wait_for_port_closed "$R_HOST" "$port" 10 || warn "port $port still open after stop"
}

# every port we have a state dir for (for stop without an explicit port)
known_ports() { ls -1 "$BASE" 2>/dev/null | grep -E '^[0-9]+$' | sort -n || true; }

urls() { local p; for p in $(ports); do echo "redis://$R_HOST:$p"; done; }

start_all() {
  all_ok=1
  for p in $(ports); do node_healthy "$p" || { all_ok=0; break; }; done
  if ((all_ok)); then
    log "already running: $NODES node(s) from port $R_BASE_PORT"
  else
    apt_install redis-server redis-tools
    mkdir -p "$BASE"
    for p in $(ports); do start_node "$p"; done
  fi
  log "ready: $(urls | paste -sd, -)"
  urls
}

case "$cmd" in start|stop|restart) require_root; service_lock redis ;; esac
case "$cmd" in
  start) start_all ;;
  stop)
    if ((${#args[@]})); then for p in "${args[@]}"; do stop_node "$p"; done
    else for p in $(known_ports); do stop_node "$p"; done; fi
    ;;
  restart)
    if ((${#args[@]})); then
      for p in "${args[@]}"; do
        [[ "$p" =~ ^[0-9]+$ ]] || die "restart: '$p' is not a port"
        apt_install redis-server redis-tools
        stop_node "$p"; start_node "$p"
        log "ready: redis://$R_HOST:$p"
        echo "redis://$R_HOST:$p"
      done
    else
      for p in $(known_ports); do stop_node "$p"; done
      start_all
    fi
    ;;
  status)
    rc=0
    for p in $(ports); do
      if node_healthy "$p"; then log "node $p running"; else log "node $p not running"; rc=1; fi
    done
    exit $rc
    ;;
  url) urls ;;
  help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//' >&2 ;;
esac
