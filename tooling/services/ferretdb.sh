#!/usr/bin/env bash
# FerretDB v1 (MongoDB wire protocol on PostgreSQL), built from the Go module
# proxy with `go install`, backed by database `ferretdb` of postgres.sh.
#   listen 127.0.0.1:27017
#   URL: mongodb://127.0.0.1:27017/
# usage: ferretdb.sh [start|stop|restart|status|url]
#        ferretdb.sh install     only build the binary (cached in $HERALD_SERVICES_DIR/ferretdb/bin)
#        ferretdb.sh ping        send a MongoDB `ping` command over the wire
# env: FERRETDB_VERSION (default v1.24.2)
. "$(dirname "$0")/lib.sh"

FERRETDB_VERSION="${FERRETDB_VERSION:-v1.24.2}"
F_HOST=127.0.0.1
F_PORT="${HERALD_MONGO_PORT:-27017}"
F_URL="mongodb://$F_HOST:$F_PORT/"
F_PG_URL="postgres://herald:herald@127.0.0.1:${HERALD_PG_PORT:-5432}/ferretdb"

BASE="$HERALD_SERVICES_DIR/ferretdb"
BIN_DIR="$BASE/bin/$FERRETDB_VERSION"
BIN="$BIN_DIR/ferretdb"
STATE="$BASE/state"
LOG="$BASE/ferretdb.log"
PIDFILE="$BASE/ferretdb.pid"

# `go install ...@version` is not usable here: (1) it asks the proxy for the
# module's version list (for deprecation notices), which this network's proxy
# refuses, and (2) FerretDB's cmd/ferretdb panics at start unless
# build/version/version.txt was generated, which only its own release build
# does.  So: download the exact module version from the proxy, copy its source,
# write version.txt, and `go build ./cmd/ferretdb` with FerretDB's own go.sum
# (so the dependency versions are exactly upstream's).
build() {
  if [[ -x "$BIN" ]]; then return 0; fi
  command -v go >/dev/null || apt_install golang-go
  mkdir -p "$BIN_DIR"
  local blog="$BASE/build.log" src="$BASE/src/FerretDB-$FERRETDB_VERSION" dir
  : >"$blog"
  log "building FerretDB $FERRETDB_VERSION with $(go version | awk '{print $3}') from the Go module proxy (a few minutes on 2 cores)"
  export GOTOOLCHAIN=local GOFLAGS=-buildvcs=false CGO_ENABLED=0
  dir="$(cd "$BASE" && timeout 600 go mod download -json "github.com/FerretDB/FerretDB@$FERRETDB_VERSION" 2>>"$blog" |
    tee -a "$blog" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')" || true
  [[ -n "$dir" && -f "$dir/go.mod" ]] ||
    die "go mod download github.com/FerretDB/FerretDB@$FERRETDB_VERSION failed" "$blog"
  rm -rf "$src"; mkdir -p "$(dirname "$src")"
  cp -r "$dir" "$src"; chmod -R u+w "$src"
  printf '%s\n' "$FERRETDB_VERSION" >"$src/build/version/version.txt"
  printf 'herald-tooling\n' >"$src/build/version/package.txt"
  # ferretdb_no_sqlite: leave out the SQLite backend (modernc.org/sqlite is a
  # 230 MB pure-Go translation of SQLite that dominates the build); we only use PostgreSQL
  (cd "$src" && timeout 1500 go build -tags ferretdb_no_sqlite -trimpath -ldflags='-s -w' \
    -o "$BIN.tmp" ./cmd/ferretdb >>"$blog" 2>&1) ||
    die "go build ./cmd/ferretdb ($FERRETDB_VERSION) failed" "$blog"
  mv -f "$BIN.tmp" "$BIN"
  rm -rf "$src"
  log "built $("$BIN" --version 2>&1 | grep -m1 -i version)"
}

# mongo_ping: OP_MSG {ping: 1, $db: "admin"} over /dev/tcp; true if the reply has ok: 1.0
mongo_ping() {
  timeout 5 bash -c '
    exec 3<>"/dev/tcp/$1/$2" || exit 1
    # header(len=51,id=1,resp=0,op=2013) flags=0 kind=0 doc{ping:int32 1, $db:"admin"}
    printf "\x33\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\xdd\x07\x00\x00\x00\x00\x00\x00\x00\x1e\x00\x00\x00\x10ping\x00\x01\x00\x00\x00\x02\$db\x00\x06\x00\x00\x00admin\x00\x00" >&3
    len=$(head -c 4 <&3 | od -An -tu4 | tr -d " ")
    [[ -n "$len" && "$len" -gt 4 && "$len" -lt 65536 ]] || exit 1
    head -c $((len - 4)) <&3 | od -An -tx1 | tr -d " \n" | grep -q "016f6b00000000000000f03f"
  ' _ "$F_HOST" "$F_PORT"
}

f_running() { pid_alive "$PIDFILE" && port_open "$F_HOST" "$F_PORT" && mongo_ping; }

start_ferret() {
  if port_open "$F_HOST" "$F_PORT"; then
    die "port $F_HOST:$F_PORT is already taken by another process (not our FerretDB); stop it first"
  fi
  mkdir -p "$STATE"
  rm -f "$PIDFILE"
  rotate_log "$LOG"
  log "starting FerretDB $FERRETDB_VERSION on $F_HOST:$F_PORT (backend ${F_PG_URL%%\?*})"
  (cd "$BASE" && close_extra_fds && exec setsid "$BIN" \
      --listen-addr="$F_HOST:$F_PORT" \
      --handler=postgresql \
      --postgresql-url="$F_PG_URL" \
      --state-dir="$STATE" \
      --telemetry=disable \
      --debug-addr=- \
      --log-level=info) >>"$LOG" 2>&1 </dev/null &
  echo $! >"$PIDFILE"
  local deadline=$((SECONDS + 60))
  until port_open "$F_HOST" "$F_PORT" && mongo_ping; do
    pid_alive "$PIDFILE" || die "FerretDB exited during startup" "$LOG"
    ((SECONDS < deadline)) || die "FerretDB did not answer ping on $F_HOST:$F_PORT within 60s" "$LOG"
    sleep 0.5
  done
}

stop_ferret() {
  if ! pid_alive "$PIDFILE"; then log "not running"; rm -f "$PIDFILE"; return 0; fi
  log "stopping FerretDB"
  stop_pidfile "$PIDFILE" 20
  wait_for_port_closed "$F_HOST" "$F_PORT" 10 || warn "port $F_PORT still open after stop"
}

cmd_start() {
  require_root
  if f_running; then
    log "already running on $F_HOST:$F_PORT"
  else
    build
    # the backend: our PostgreSQL, with a database of its own
    "$HERALD_SERVICES_SRC/postgres.sh" start >/dev/null || die "postgres.sh failed; FerretDB needs it"
    "$HERALD_SERVICES_SRC/postgres.sh" create-db ferretdb || die "could not create database ferretdb"
    start_ferret
  fi
  log "ready: $F_URL"
  printf '%s\n' "$F_URL"
}

case "${1:-start}" in
  start) service_lock ferretdb; cmd_start ;;
  install) require_root; service_lock ferretdb; build ;;
  stop) require_root; service_lock ferretdb; stop_ferret ;;
  restart) require_root; service_lock ferretdb; stop_ferret; cmd_start ;;
  status) if f_running; then log "running"; else log "not running"; exit 1; fi ;;
  url) printf '%s\n' "$F_URL" ;;
  ping) if mongo_ping; then echo "ok"; else echo "no answer from $F_HOST:$F_PORT" >&2; exit 1; fi ;;
  -h|--help|help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//' >&2 ;;
  *) usage_common; exit 2 ;;
esac
