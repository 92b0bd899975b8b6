#!/usr/bin/env bash
# MariaDB (Debian `mariadb-server`) with its own datadir in the state dir.
#   listen 127.0.0.1:3306, user herald/herald (all privileges), database herald
#   URL: mysql://herald:herald@127.0.0.1:3306/herald
# usage: mariadb.sh [start|stop|restart|status|url|client [args...]]
. "$(dirname "$0")/lib.sh"

MY_HOST=127.0.0.1
MY_PORT="${HERALD_MARIADB_PORT:-3306}"
MY_USER=herald
MY_PASSWORD=herald
MY_DB=herald
MY_URL="mysql://$MY_USER:$MY_PASSWORD@$MY_HOST:$MY_PORT/$MY_DB"

BASE="$HERALD_SERVICES_DIR/mariadb"
DATA="$BASE/data"
RUN="$BASE/run"
CNF="$BASE/my.cnf"
LOG="$BASE/mariadb.log"
PIDFILE="$RUN/mariadbd.pid"
SOCK="$RUN/mariadbd.sock"

server_bin() { command -v mariadbd 2>/dev/null || ls /usr/sbin/mariadbd 2>/dev/null || ls /usr/sbin/mysqld 2>/dev/null; }

# root over the private socket (unix_socket auth: we are root)
my_root() { mariadb --defaults-file="$CNF" --protocol=socket -uroot "$@"; }

my_running() {
  [[ -f "$CNF" ]] && pid_alive "$PIDFILE" || return 1
  mariadb-admin --defaults-file="$CNF" --protocol=socket -uroot --connect-timeout=3 ping >/dev/null 2>&1 &&
    port_open "$MY_HOST" "$MY_PORT"
}

write_cnf() {
  mkdir -p "$BASE" "$RUN"
  chown mysql:mysql "$RUN"
  chmod 755 "$BASE" "$RUN"
  cat >"$CNF" <<EOF
# written by tooling/services/mariadb.sh - rewritten on every start
[client-server]
port = $MY_PORT
socket = $SOCK

[client]
host = localhost

[mariadbd]
user = mysql
datadir = $DATA
pid-file = $PIDFILE
log-error = $LOG
bind-address = $MY_HOST
skip-name-resolve
skip-networking = 0
character-set-server = utf8mb4
collation-server = utf8mb4_unicode_ci
max_connections = 200
innodb_buffer_pool_size = 256M
innodb_log_file_size = 64M
# test server: survives a mariadbd crash, not an OS crash
innodb_flush_log_at_trx_commit = 2
sync_binlog = 0
log-bin = $DATA/binlog
binlog_format = ROW
server-id = 1
expire_logs_days = 1
max_allowed_packet = 64M
EOF
}

install_my() {
  apt_install mariadb-server mariadb-client
  server_bin >/dev/null || die "mariadb-server installed but no mariadbd binary found"
}

init_datadir() {
  if [[ ! -d "$DATA/mysql" ]]; then
    log "mariadb-install-db $DATA"
    rm -rf "$DATA"
    install -d -o mysql -g mysql -m 750 "$DATA"
    (cd / && mariadb-install-db --defaults-file="$CNF" --user=mysql --datadir="$DATA" \
      --auth-root-authentication-method=socket --skip-test-db >"$BASE/install-db.log" 2>&1) ||
      die "mariadb-install-db failed" "$BASE/install-db.log"
  fi
}

start_my() {
  local bin; bin="$(server_bin)"
  if port_open "$MY_HOST" "$MY_PORT"; then
    die "port $MY_HOST:$MY_PORT is already taken by another process (not our server in $DATA); stop it first"
  fi
  rm -f "$PIDFILE" "$SOCK"
  rotate_log "$LOG"; chown mysql:mysql "$LOG"
  log "starting $($bin --version | awk '{print $3}') on $MY_HOST:$MY_PORT"
  # mariadbd drops to user mysql itself (user= in my.cnf); no mysqld_safe, so a
  # test that kills the server sees it stay down until this script runs again.
  # exec: no shell stays behind holding our stdout (a $(...) capture) or the lock
  (cd / && close_extra_fds && exec setsid "$bin" --defaults-file="$CNF") >>"$LOG" 2>&1 </dev/null &
  local t0=$SECONDS deadline=$((SECONDS + 90))
  until mariadb-admin --defaults-file="$CNF" --protocol=socket -uroot --connect-timeout=2 ping >/dev/null 2>&1; do
    ((SECONDS < deadline)) || die "MariaDB did not answer ping within 90s" "$LOG"
    if ((SECONDS - t0 > 5)) && [[ -s "$PIDFILE" ]] && ! pid_alive "$PIDFILE"; then die "mariadbd exited" "$LOG"; fi
    sleep 0.5
  done
  wait_for_port "$MY_HOST" "$MY_PORT" 30 || die "MariaDB is not listening on $MY_HOST:$MY_PORT" "$LOG"
}

ensure_objects() {
  my_root >&2 <<EOF || die "could not create user/database" "$LOG"
DELETE FROM mysql.global_priv WHERE User = '';
CREATE USER IF NOT EXISTS '$MY_USER'@'%' IDENTIFIED BY '$MY_PASSWORD';
CREATE USER IF NOT EXISTS '$MY_USER'@'localhost' IDENTIFIED BY '$MY_PASSWORD';
ALTER USER '$MY_USER'@'%' IDENTIFIED BY '$MY_PASSWORD';
ALTER USER '$MY_USER'@'localhost' IDENTIFIED BY '$MY_PASSWORD';
GRANT ALL PRIVILEGES ON *.* TO '$MY_USER'@'%' WITH GRANT OPTION;
GRANT ALL PRIVILEGES ON *.* TO '$MY_USER'@'localhost' WITH GRANT OPTION;
CREATE DATABASE IF NOT EXISTS \`$MY_DB\`;
FLUSH PRIVILEGES;
EOF
}

stop_my() {
  if ! pid_alive "$PIDFILE"; then log "not running"; rm -f "$PIDFILE"; return 0; fi
  log "stopping MariaDB"
  mariadb-admin --defaults-file="$CNF" --protocol=socket -uroot --connect-timeout=3 shutdown >/dev/null 2>&1 || true
  stop_pidfile "$PIDFILE" 60
  wait_for_port_closed "$MY_HOST" "$MY_PORT" 10 || warn "port $MY_PORT still open after stop"
}

cmd_start() {
  require_root
  if my_running; then
    log "already running on $MY_HOST:$MY_PORT"
  else
    install_my
    write_cnf
    init_datadir
    start_my
  fi
  ensure_objects
  log "ready: $MY_URL"
  printf '%s\n' "$MY_URL"
}

case "${1:-start}" in
  start) service_lock mariadb; cmd_start ;;
  stop) require_root; service_lock mariadb; stop_my ;;
  restart) require_root; service_lock mariadb; stop_my; cmd_start ;;
  status) if my_running; then log "running"; else log "not running"; exit 1; fi ;;
  url) printf '%s\n' "$MY_URL" ;;
  client) shift; mariadb -h "$MY_HOST" -P "$MY_PORT" -u"$MY_USER" -p"$MY_PASSWORD" "$MY_DB" "$@" ;;
  -h|--help|help) usage_common; echo "  client [args]  open the mariadb client as herald on the herald database" >&2 ;;
  *) usage_common; exit 2 ;;
esac
