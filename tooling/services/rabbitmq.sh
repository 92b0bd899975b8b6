#!/usr/bin/env bash
# RabbitMQ (Debian `rabbitmq-server`) as node rabbit@localhost with its mnesia,
# logs and config in the state dir.  AMQP on 127.0.0.1:5672, Erlang
# distribution on 127.0.0.1:25672, epmd on 127.0.0.1:4369.
#   user herald/herald (administrator, full permissions on vhost /), guest kept
#   URL: amqp://herald:herald@127.0.0.1:5672
# usage: rabbitmq.sh [start|stop|restart|status|url]
#        rabbitmq.sh ctl ARGS...     rabbitmqctl against this node (e.g. ctl list_queues)
#        rabbitmq.sh diag ARGS...    rabbitmq-diagnostics against this node
# restart keeps the node name and mnesia dir, so durable queues and persistent
# messages survive it.  Set RABBITMQ_MANAGEMENT=1 to also enable the management
# plugin (HTTP API on 127.0.0.1:15672).
. "$(dirname "$0")/lib.sh"

RMQ_HOST=127.0.0.1
RMQ_PORT="${HERALD_RABBITMQ_PORT:-5672}"
RMQ_DIST_PORT=$((RMQ_PORT + 20000))
RMQ_MGMT_PORT=$((RMQ_PORT + 10000))
RMQ_USER=herald
RMQ_PASSWORD=herald
RMQ_URL="amqp://$RMQ_USER:$RMQ_PASSWORD@$RMQ_HOST:$RMQ_PORT"
NODENAME="${HERALD_RABBITMQ_NODENAME:-rabbit@localhost}"

BASE="$HERALD_SERVICES_DIR/rabbitmq"
LOG="$BASE/server.log"          # stdout/stderr of the node
LOGDIR="$BASE/log"              # rabbit's own log files
PIDFILE="$BASE/rabbit.pid"      # written by the node (beam pid)
RMQ_LIB=/usr/lib/rabbitmq/bin
RMQ_HOME=/var/lib/rabbitmq      # rabbitmq user's home: holds the Erlang cookie

# The environment every rabbitmq command (server and CLI) runs with.
rmq_env() {
  env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME="$RMQ_HOME" LANG=C.UTF-8 LC_ALL=C.UTF-8 \
    RABBITMQ_CONF_ENV_FILE="$BASE/rabbitmq-env.conf" \
    RABBITMQ_NODENAME="$NODENAME" \
    RABBITMQ_USE_LONGNAME=false \
    RABBITMQ_NODE_IP_ADDRESS="$RMQ_HOST" \
    RABBITMQ_NODE_PORT="$RMQ_PORT" \
    RABBITMQ_DIST_PORT="$RMQ_DIST_PORT" \
    RABBITMQ_CONFIG_FILE="$BASE/rabbitmq.conf" \
    RABBITMQ_ADVANCED_CONFIG_FILE="$BASE/advanced.config" \
    RABBITMQ_ENABLED_PLUGINS_FILE="$BASE/enabled_plugins" \
    RABBITMQ_MNESIA_BASE="$BASE/mnesia" \
    RABBITMQ_LOG_BASE="$LOGDIR" \
    RABBITMQ_PID_FILE="$PIDFILE" \
    ERL_EPMD_ADDRESS=127.0.0.1 \
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}" \
    RABBITMQ_CTL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}" \
    "$@"
}

# run a rabbitmq CLI tool as the rabbitmq user against our node
rmq_cli() {
  local tool="$1"; shift
  (cd "$RMQ_HOME" && rmq_env timeout "${RMQ_CLI_TIMEOUT:-180}" \
    setpriv --reuid=rabbitmq --regid=rabbitmq --init-groups -- "$RMQ_LIB/$tool" -n "$NODENAME" "$@")
}

rmq_ping() { RMQ_CLI_TIMEOUT=20 rmq_cli rabbitmq-diagnostics -q ping >/dev/null 2>&1; }

rmq_running() {
  [[ -x "$RMQ_LIB/rabbitmqctl" && -f "$BASE/rabbitmq.conf" ]] || return 1
  pid_alive "$PIDFILE" && port_open "$RMQ_HOST" "$RMQ_PORT" && rmq_ping
}

write_conf() {
  mkdir -p "$BASE" "$LOGDIR" "$BASE/mnesia"
  cat >"$BASE/rabbitmq-env.conf" <<EOF
# written by tooling/services/rabbitmq.sh (all settings come from the environment)
EOF
  cat >"$BASE/rabbitmq.conf" <<EOF
# written by tooling/services/rabbitmq.sh - rewritten on every start
listeners.tcp.1 = $RMQ_HOST:$RMQ_PORT
loopback_users.guest = true
log.file.level = info
log.console = false
disk_free_limit.absolute = 50MB
vm_memory_high_watermark.relative = 0.4
management.tcp.ip = $RMQ_HOST
management.tcp.port = $RMQ_MGMT_PORT
EOF
  echo '[].' >"$BASE/advanced.config"
  if [[ "${RABBITMQ_MANAGEMENT:-0}" == 1 ]]; then
    echo '[rabbitmq_management].' >"$BASE/enabled_plugins"
  else
    echo '[].' >"$BASE/enabled_plugins"
  fi
  chown -R rabbitmq:rabbitmq "$BASE"
  chmod 755 "$BASE"
}

start_rmq() {
  if port_open "$RMQ_HOST" "$RMQ_PORT"; then
    die "port $RMQ_HOST:$RMQ_PORT is already taken by another process (not node $NODENAME of $BASE); stop it first"
  fi
  rm -f "$PIDFILE"
  rotate_log "$LOG"; chown rabbitmq:rabbitmq "$LOG"
  log "starting RabbitMQ $(dpkg-query -W -f='${Version}' rabbitmq-server) as $NODENAME on $RMQ_HOST:$RMQ_PORT"
  # redirections on the whole subshell: nothing left behind holds our stdout
  # (a $(...) capture in up.sh) or the service lock
  (cd "$RMQ_HOME" && close_extra_fds && rmq_env setsid setpriv --reuid=rabbitmq --regid=rabbitmq --init-groups -- \
    "$RMQ_LIB/rabbitmq-server") >>"$LOG" 2>&1 </dev/null &
  local t0=$SECONDS deadline=$((SECONDS + 120))
  until rmq_ping; do
    ((SECONDS < deadline)) || { tail_log "$LOGDIR/$NODENAME.log"; die "RabbitMQ did not answer ping within 120s" "$LOG"; }
    if ((SECONDS - t0 > 10)) && ! pgrep -u rabbitmq -f "beam.*-sname $NODENAME|beam.*rabbit@localhost" >/dev/null; then
      tail_log "$LOGDIR/$NODENAME.log"; die "RabbitMQ node process exited" "$LOG"
    fi
    sleep 1
  done
  rmq_cli rabbitmqctl -q await_startup --timeout 120 >&2 ||
    { tail_log "$LOGDIR/$NODENAME.log"; die "rabbitmqctl await_startup failed" "$LOG"; }
  wait_for_port "$RMQ_HOST" "$RMQ_PORT" 30 ||
    { tail_log "$LOGDIR/$NODENAME.log"; die "RabbitMQ is not listening on $RMQ_HOST:$RMQ_PORT" "$LOG"; }
}

ensure_user() {
  # marker lives in the mnesia dir, so it goes away with the data
  local marker="$BASE/mnesia/.herald-user-$RMQ_USER"
  [[ -f "$marker" ]] && return 0
  if rmq_cli rabbitmqctl -q list_users 2>/dev/null | awk '{print $1}' | grep -qx "$RMQ_USER"; then
    rmq_cli rabbitmqctl -q change_password "$RMQ_USER" "$RMQ_PASSWORD" >/dev/null
  else
    log "creating user $RMQ_USER"
    rmq_cli rabbitmqctl -q add_user "$RMQ_USER" "$RMQ_PASSWORD" >/dev/null ||
      die "rabbitmqctl add_user failed" "$LOG"
  fi
  rmq_cli rabbitmqctl -q set_user_tags "$RMQ_USER" administrator >/dev/null
  rmq_cli rabbitmqctl -q set_permissions -p / "$RMQ_USER" '.*' '.*' '.*' >/dev/null ||
    die "rabbitmqctl set_permissions failed" "$LOG"
  touch "$marker"
}

stop_rmq() {
  if ! pid_alive "$PIDFILE"; then
    log "not running"; rm -f "$PIDFILE"; return 0
  fi
  log "stopping RabbitMQ node $NODENAME"
  # `shutdown` waits until the node's OS process has exited
  rmq_cli rabbitmqctl -q shutdown --timeout 60 >&2 2>/dev/null || warn "rabbitmqctl shutdown failed, signalling the process"
  stop_pidfile "$PIDFILE" 60
  wait_for_port_closed "$RMQ_HOST" "$RMQ_PORT" 15 || warn "port $RMQ_PORT still open after stop"
}

cmd_start() {
  require_root
  if rmq_running; then
    log "already running: $NODENAME on $RMQ_HOST:$RMQ_PORT"
  else
    if pid_alive "$PIDFILE"; then
      # e.g. epmd was killed under it: AMQP may work but the CLI cannot reach it
      warn "our node process is alive but does not answer ping; restarting it"
      stop_rmq
    fi
    apt_install rabbitmq-server
    write_conf
    start_rmq
  fi
  ensure_user
  log "ready: $RMQ_URL"
  printf '%s\n' "$RMQ_URL"
}

case "${1:-start}" in
  start) service_lock rabbitmq; cmd_start ;;
  stop) require_root; service_lock rabbitmq; stop_rmq ;;   # epmd is shared by all Erlang nodes: left running
  restart) require_root; service_lock rabbitmq; stop_rmq; cmd_start ;;
  status) if rmq_running; then log "running"; else log "not running"; exit 1; fi ;;
  url) printf '%s\n' "$RMQ_URL" ;;
  ctl) shift; rmq_cli rabbitmqctl "$@" ;;
  diag) shift; rmq_cli rabbitmq-diagnostics "$@" ;;
  -h|--help|help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//' >&2 ;;
  *) usage_common; exit 2 ;;
esac
