# shellcheck shell=bash
# Shared helpers for the Herald local-services scripts.
# Source it from a script in this folder:   . "$(dirname "$0")/lib.sh"
#
# Conventions used by every service script:
#   * logs and progress go to STDERR, connection strings go to STDOUT
#     (so `url=$(./postgres.sh)` captures just the URL);
#   * everything binds to 127.0.0.1;
#   * state (data dirs, logs, pidfiles, caches) lives under $HERALD_SERVICES_DIR.

set -euo pipefail

HERALD_SERVICES_DIR="${HERALD_SERVICES_DIR:-/var/tmp/herald-services}"
export HERALD_SERVICES_DIR
HERALD_SERVICES_SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export HERALD_SERVICES_SRC
export DEBIAN_FRONTEND=noninteractive

_herald_svc_name="${HERALD_SVC_NAME:-$(basename "${0%.sh}")}"

# ---------------------------------------------------------------- logging
_ts() { date +%H:%M:%S; }
log()  { printf '[%s herald:%s] %s\n' "$(_ts)" "$_herald_svc_name" "$*" >&2; }
warn() { printf '[%s herald:%s] WARNING: %s\n' "$(_ts)" "$_herald_svc_name" "$*" >&2; }
# die MESSAGE [LOGFILE]  - print error (and the tail of LOGFILE), exit 1
die() {
  printf '[%s herald:%s] ERROR: %s\n' "$(_ts)" "$_herald_svc_name" "$1" >&2
  if [[ $# -ge 2 ]]; then tail_log "$2"; fi
  exit 1
}
# tail_log FILE [LINES]  - print the last lines of an engine log to stderr
tail_log() {
  local f="$1" n="${2:-40}"
  if [[ -f "$f" ]]; then
    printf -- '----- last %s lines of %s -----\n' "$n" "$f" >&2
    tail -n "$n" "$f" >&2 || true
    printf -- '----- end of %s -----\n' "$f" >&2
  else
    printf -- '(no log file at %s)\n' "$f" >&2
  fi
}

require_root() {
  [[ $(id -u) -eq 0 ]] || die "must run as root (it installs packages and switches to service users)"
}

# state_dir SUBDIR  - create and print $HERALD_SERVICES_DIR/SUBDIR (world-traversable)
state_dir() {
  local d="$HERALD_SERVICES_DIR/$1"
  mkdir -p "$d"
  chmod 755 "$HERALD_SERVICES_DIR" "$d" 2>/dev/null || true
  printf '%s\n' "$d"
}

# ---------------------------------------------------------------- network
# port_open HOST PORT  - true if a TCP connect succeeds right now
port_open() {
  timeout 2 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$1" "$2" 2>/dev/null
}

# wait_for_port HOST PORT TIMEOUT_SECONDS  - poll until the port accepts connections
wait_for_port() {
  local host="$1" port="$2" timeout_s="${3:-60}"
  local deadline=$((SECONDS + timeout_s))
  while ((SECONDS < deadline)); do
    if port_open "$host" "$port"; then return 0; fi
    sleep 0.5
  done
  warn "timed out after ${timeout_s}s waiting for $host:$port"
  return 1
}

# wait_for_port_closed HOST PORT TIMEOUT_SECONDS
wait_for_port_closed() {
  local host="$1" port="$2" timeout_s="${3:-30}"
  local deadline=$((SECONDS + timeout_s))
  while ((SECONDS < deadline)); do
    if ! port_open "$host" "$port"; then return 0; fi
    sleep 0.5
  done
  return 1
}

# wait_until TIMEOUT_SECONDS CMD...  - poll CMD (every 0.5s) until it succeeds
wait_until() {
  local timeout_s="$1"; shift
  local deadline=$((SECONDS + timeout_s))
  while ((SECONDS < deadline)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.5
  done
  return 1
}

# ---------------------------------------------------------------- processes
# proc_alive PID  - true if PID is a live process (zombies count as dead)
proc_alive() {
  local pid="$1" state
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null || return 1
  state="$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null || true)"
  [[ "$state" != Z && "$state" != X ]]
}

# pid_alive PIDFILE  - true if the pidfile names a live process
pid_alive() {
  local f="$1" pid
  [[ -s "$f" ]] || return 1
  pid="$(head -n1 "$f" | tr -dc '0-9')"
  proc_alive "$pid"
}

# stop_pidfile PIDFILE TIMEOUT_SECONDS  - SIGTERM, wait, then SIGKILL
stop_pidfile() {
  local f="$1" timeout_s="${2:-30}" pid
  if ! pid_alive "$f"; then rm -f "$f"; return 0; fi
  pid="$(head -n1 "$f" | tr -dc '0-9')"
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + timeout_s))
  while proc_alive "$pid" && ((SECONDS < deadline)); do sleep 0.3; done
  if proc_alive "$pid"; then
    warn "pid $pid still alive after ${timeout_s}s, sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    sleep 0.5
  fi
  rm -f "$f"
}

# rotate_log FILE  - keep one previous copy, start the new run with an empty file
rotate_log() {
  local f="$1"
  if [[ -s "$f" ]]; then mv -f "$f" "$f.1"; fi
  : >"$f"
}

# close_extra_fds  - in a subshell about to start a daemon: close every fd above
# 2 (our lock, pipes inherited from CI runners or callers), so the daemon holds
# nothing of ours open after we exit.
close_extra_fds() {
  local fd n
  for fd in /proc/"$BASHPID"/fd/*; do
    n="${fd##*/}"
    if [[ "$n" =~ ^[0-9]+$ ]] && ((n > 2)); then eval "exec $n>&-" 2>/dev/null || true; fi
  done
  return 0
}

# ---------------------------------------------------------------- apt
# pkg_installed PKG  - true if dpkg has it fully installed
pkg_installed() {
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q '^install ok installed$'
}

# apt_update_once  - at most one `apt-get update` per run.  A "run" is one
# top-level invocation: up.sh exports HERALD_APT_UPDATED to its children; a
# stamp file also skips it when the lists were refreshed less than 6h ago.
apt_update_once() {
  local stamp="$HERALD_SERVICES_DIR/.apt-updated"
  if [[ "${HERALD_APT_UPDATED:-}" == 1 ]]; then return 0; fi
  if [[ -f "$stamp" ]] && [[ -n "$(find "$stamp" -mmin -360 2>/dev/null)" ]] \
     && compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null; then
    export HERALD_APT_UPDATED=1; return 0
  fi
  log "apt-get update"
  mkdir -p "$HERALD_SERVICES_DIR"
  apt-get -o DPkg::Lock::Timeout=300 update -q >>"$HERALD_SERVICES_DIR/apt.log" 2>&1 ||
    die "apt-get update failed" "$HERALD_SERVICES_DIR/apt.log"
  mkdir -p "$HERALD_SERVICES_DIR"; touch "$stamp"
  export HERALD_APT_UPDATED=1
}

# apt_install PKG...  - install whatever is missing, without starting services
apt_install() {
  local missing=() p
  for p in "$@"; do pkg_installed "$p" || missing+=("$p"); done
  ((${#missing[@]})) || return 0
  require_root
  apt_update_once
  log "apt-get install ${missing[*]}"
  # Package maintainer scripts must not start the distro's own instances
  # (they would grab our ports): a policy-rc.d that answers 101 prevents it.
  local policy=/usr/sbin/policy-rc.d created_policy=0
  if [[ ! -e "$policy" ]]; then
    printf '#!/bin/sh\n# temporary, written by herald tooling/services/lib.sh\nexit 101\n' >"$policy"
    chmod 755 "$policy"; created_policy=1
  fi
  local rc=0 aptlog="$HERALD_SERVICES_DIR/apt.log"
  mkdir -p "$HERALD_SERVICES_DIR"
  apt-get -o DPkg::Lock::Timeout=300 install -y -q --no-install-recommends \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
    "${missing[@]}" >>"$aptlog" 2>&1 || rc=$?
  if ((created_policy)); then rm -f "$policy"; fi
  ((rc == 0)) || die "apt-get install ${missing[*]} failed (exit $rc)" "$aptlog"
}

# ---------------------------------------------------------------- misc
# run_as USER CMD...  - run a command as a system user, keeping the environment
run_as() {
  local user="$1"; shift
  setpriv --reuid="$user" --regid="$user" --init-groups -- "$@"
}

# service_lock NAME  - serialize start/stop/install of one service across
# processes and sessions (two CI jobs or developers starting the same engine).
# Holds fd 201 until the script exits; daemons are spawned after
# close_extra_fds so they do not inherit the lock.
service_lock() {
  mkdir -p "$HERALD_SERVICES_DIR"
  local f="$HERALD_SERVICES_DIR/.$1.lock"
  exec 201>"$f"
  if ! flock -n 201; then
    log "another run holds $f; waiting (up to ${HERALD_LOCK_TIMEOUT:-900}s)"
    flock -w "${HERALD_LOCK_TIMEOUT:-900}" 201 || die "timed out waiting for $f"
  fi
}

# usage_common  - common subcommands, printed by each script's --help
usage_common() {
  cat >&2 <<EOF
usage: $(basename "$0") [start|stop|restart|status|url]
  start    (default) install if needed, start if stopped, print connection string(s)
  stop     stop the engine (no-op if not running)
  restart  stop then start (data is kept)
  status   exit 0 if running and healthy, 1 otherwise
  url      print the connection string(s) without starting anything
state dir: $HERALD_SERVICES_DIR
EOF
}
