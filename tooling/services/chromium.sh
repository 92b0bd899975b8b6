#!/usr/bin/env bash
# Chromium (Debian `chromium`) for the web console's browser tests, driven by
# playwright-core (which must never download its own browser here).
#   Prints the executable path: /usr/bin/chromium
# usage: chromium.sh [start|install|status|url]
. "$(dirname "$0")/lib.sh"

BIN=/usr/bin/chromium
cmd="${1:-start}"
case "$cmd" in
  start|install)
    require_root
    if [[ -x "$BIN" ]]; then log "chromium already installed: $("$BIN" --version 2>/dev/null || echo "$BIN")"
    else apt_install chromium; fi
    [[ -x "$BIN" ]] || die "chromium did not install at $BIN"
    echo "$BIN"
    ;;
  status|url) [[ -x "$BIN" ]] && echo "$BIN" || die "chromium is not installed (run: bash tooling/services/chromium.sh)" ;;
  -h|--help|help) sed -n '2,5p' "$0" | sed 's/^# \{0,1\}//' >&2 ;;
  *) die "unknown command '$cmd'" ;;
esac
