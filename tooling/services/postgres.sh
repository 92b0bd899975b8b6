#!/usr/bin/env bash
# PostgreSQL (Debian `postgresql` package) as a private cluster in the state dir.
#   listen 127.0.0.1:5432, superuser herald/herald, database herald
#   URL: postgres://herald:herald@127.0.0.1:5432/herald
# usage: postgres.sh [start|stop|restart|status|url|psql [args...]]
. "$(dirname "$0")/lib.sh"

PG_HOST=127.0.0.1
PG_PORT="${HERALD_PG_PORT:-5432}"
PG_USER=herald
PG_PASSWORD=herald
PG_DB=herald
PG_URL="postgres://$PG_USER:$PG_PASSWORD@$PG_HOST:$PG_PORT/$PG_DB"

BASE="$HERALD_SERVICES_DIR/postgres"
DATA="$BASE/data"
RUN="$BASE/run"          # unix socket directory
LOG="$BASE/postgres.log"

pg_bindir() {
  local d
  d="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)"
  [[ -n "$d" && -x "$d/pg_ctl" ]] || return 1
  printf '%s\n' "$d"
}

pg_running() {
  local bin; bin="$(pg_bindir)" || return 1
  [[ -f "$DATA/PG_VERSION" ]] || return 1
  (cd / && run_as postgres "$bin/pg_ctl" -D "$DATA" status >/dev/null 2>&1) || return 1
  "$bin/pg_isready" -q -h "$PG_HOST" -p "$PG_PORT" -t 3
}

# psql as the postgres OS user over the private socket (peer/trust auth)
pg_psql() {
  local bin; bin="$(pg_bindir)"
  (cd / && PGOPTIONS="-c client_min_messages=warning" run_as postgres "$bin/psql" -X -q -v ON_ERROR_STOP=1 -h "$RUN" -p "$PG_PORT" -U postgres "$@")
}

install_pg() {
  apt_install postgresql postgresql-contrib
  pg_bindir >/dev/null || die "postgresql installed but no /usr/lib/postgresql/*/bin/pg_ctl found"
}

write_conf() {
  # Our settings live in herald.conf, included from postgresql.conf, and are
  # rewritten on every start so edits here take effect on restart.
  cat >"$DATA/herald.conf" <<EOF
# written by tooling/services/postgres.sh - do not edit, rewritten on start
listen_addresses = '$PG_HOST'
port = $PG_PORT
unix_socket_directories = '$RUN'
max_connections = 200
shared_preload_libraries = 'pg_stat_statements'
pg_stat_statements.track = all
track_io_timing = on
track_wal_io_timing = on
track_commit_timestamp = on
wal_level = logical
max_wal_senders = 10
max_replication_slots = 10
max_prepared_transactions = 64
shared_buffers = 128MB
# test cluster: survive a process crash (synchronous_commit stays on), not an OS crash
fsync = off
full_page_writes = off
password_encryption = 'scram-sha-256'
log_timezone = 'UTC'
timezone = 'UTC'
log_min_messages = warning
log_line_prefix = '%m [%p] %q%u@%d '
EOF
  grep -q "^include_if_exists = 'herald.conf'" "$DATA/postgresql.conf" ||
    printf "\ninclude_if_exists = 'herald.conf'\n" >>"$DATA/postgresql.conf"
  cat >"$DATA/pg_hba.conf" <<'EOF'
# written by tooling/services/postgres.sh
# TYPE  DATABASE  USER  ADDRESS         METHOD
local   all       all                   trust
host    all       all   127.0.0.1/32    scram-sha-256
host    all       all   ::1/128         scram-sha-256
EOF
  chown postgres:postgres "$DATA/herald.conf" "$DATA/pg_hba.conf"
}

init_cluster() {
  local bin; bin="$(pg_bindir)"
  mkdir -p "$BASE" "$RUN"
  chown postgres:postgres "$BASE" "$RUN"
  chmod 755 "$BASE"
  if [[ ! -f "$DATA/PG_VERSION" ]]; then
    log "initdb $DATA"
    rm -rf "$DATA"
    install -d -o postgres -g postgres -m 700 "$DATA"
    (cd / && run_as postgres "$bin/initdb" -D "$DATA" -U postgres --auth-local=trust \
      --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >"$BASE/initdb.log" 2>&1) ||
      die "initdb failed" "$BASE/initdb.log"
  fi
  local have; have="$(cat "$DATA/PG_VERSION")"
  [[ "$bin" == */"$have"/bin ]] ||
    die "cluster in $DATA is PostgreSQL $have but the installed server is $bin; remove $DATA to re-create it"
}

start_pg() {
  local bin; bin="$(pg_bindir)"
  write_conf
  if port_open "$PG_HOST" "$PG_PORT"; then
    die "port $PG_HOST:$PG_PORT is already taken by another process (not our cluster in $DATA); stop it first (e.g. pg_ctlcluster <ver> main stop)"
  fi
  rotate_log "$LOG"; chown postgres:postgres "$LOG"
  log "starting PostgreSQL $($bin/postgres --version | awk '{print $3}') on $PG_HOST:$PG_PORT"
  (cd / && close_extra_fds && run_as postgres "$bin/pg_ctl" -D "$DATA" -l "$LOG" -w -t 90 start >&2) ||
    die "pg_ctl start failed" "$LOG"
  wait_until 30 "$bin/pg_isready" -q -h "$PG_HOST" -p "$PG_PORT" -t 2 ||
    die "PostgreSQL did not become ready on $PG_HOST:$PG_PORT" "$LOG"
}

ensure_objects() {
  pg_psql -d postgres >&2 <<EOF
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$PG_USER') THEN
    CREATE ROLE $PG_USER LOGIN SUPERUSER PASSWORD '$PG_PASSWORD';
  ELSE
    ALTER ROLE $PG_USER LOGIN SUPERUSER PASSWORD '$PG_PASSWORD';
  END IF;
END \$\$;
SELECT 'CREATE DATABASE $PG_DB OWNER $PG_USER'
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$PG_DB') \gexec
EOF
  pg_psql -d "$PG_DB" -c 'CREATE EXTENSION IF NOT EXISTS pg_stat_statements' >&2 ||
    die "could not create pg_stat_statements extension" "$LOG"
}

stop_pg() {
  local bin
  bin="$(pg_bindir)" || return 0
  if ! (cd / && run_as postgres "$bin/pg_ctl" -D "$DATA" status >/dev/null 2>&1); then
    log "not running"; return 0
  fi
  log "stopping PostgreSQL"
  (cd / && run_as postgres "$bin/pg_ctl" -D "$DATA" -m fast -w -t 60 stop >&2) ||
    die "pg_ctl stop failed" "$LOG"
}

cmd_start() {
  require_root
  if pg_running; then
    log "already running on $PG_HOST:$PG_PORT"
  else
    install_pg
    init_cluster
    start_pg
  fi
  ensure_objects
  log "ready: $PG_URL"
  printf '%s\n' "$PG_URL"
}

case "${1:-start}" in
  start) service_lock postgres; cmd_start ;;
  stop) require_root; service_lock postgres; stop_pg ;;
  restart) require_root; service_lock postgres; stop_pg; cmd_start ;;
  status) if pg_running; then log "running"; else log "not running"; exit 1; fi ;;
  url) printf '%s\n' "$PG_URL" ;;
  psql) shift; pg_psql -d "$PG_DB" "$@" ;;
  create-db) # create-db NAME: create a database owned by herald (used by ferretdb.sh)
    [[ -n "${2:-}" ]] || die "usage: postgres.sh create-db NAME"
    pg_running || die "PostgreSQL is not running; run postgres.sh first"
    pg_psql -d postgres >&2 <<<"SELECT 'CREATE DATABASE \"$2\" OWNER $PG_USER' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$2') \gexec"
    ;;
  -h|--help|help) usage_common; echo "  psql [args]  open psql on the herald database as postgres" >&2
                  echo "  create-db N  create database N owned by herald" >&2 ;;
  *) usage_common; exit 2 ;;
esac
