#!/usr/bin/env bash
# Dapr sidecar (`daprd`), built from the Go module proxy and cached, run
# self-hosted (no Docker, no placement, no scheduler) for @herald/transport-dapr.
# There is no long-running daemon here: tests and the demo start their own
# sidecars (one per service process) on free ports with the binary and the
# component files this script provides.
#   binary:     $HERALD_SERVICES_DIR/dapr/bin/$DAPR_VERSION/daprd
#   components: $HERALD_SERVICES_DIR/dapr/components/  (pubsub.redis "redis-pubsub" on
#               Redis 127.0.0.1:6379, pubsub.rabbitmq "rabbit-pubsub", pubsub.kafka "kafka-pubsub";
#               consumerID = the sidecar's app id)
# usage: dapr.sh [start|install|components|bin|status]
#        dapr.sh install      only build daprd (cached; ~2.5 min on 2 cores the first time)
#        dapr.sh start        build if needed, write the component files, print the daprd path
#        dapr.sh bin          print the daprd path (no build)
#        dapr.sh sidecar APP_ID GRPC_PORT HTTP_PORT [RESOURCES_DIR]
#                             run one sidecar in the foreground, self-hosted, on 127.0.0.1
# env: DAPR_VERSION (default v1.18.0; components-contrib is pinned by dapr's own go.mod)
. "$(dirname "$0")/lib.sh"

DAPR_VERSION="${DAPR_VERSION:-v1.18.0}"
BASE="$HERALD_SERVICES_DIR/dapr"
BIN_DIR="$BASE/bin/$DAPR_VERSION"
BIN="$BIN_DIR/daprd"
COMPONENTS="$BASE/components"

# `go install github.com/dapr/dapr/cmd/daprd@…` is refused because dapr's go.mod
# has `replace` lines; so download the exact module version from the proxy,
# copy it somewhere writable and `go build ./cmd/daprd` inside it, so its own
# go.mod/go.sum (and replace lines) decide every dependency version.
# `-tags stablecomponents` registers the stable components (without it daprd
# panics at start).
build() {
  if [[ -x "$BIN" ]]; then return 0; fi
  command -v go >/dev/null || apt_install golang-go
  mkdir -p "$BIN_DIR"
  local blog="$BASE/build.log" src="$BASE/src/dapr-$DAPR_VERSION" dir
  : >"$blog"
  log "building daprd $DAPR_VERSION with $(go version | awk '{print $3}') from the Go module proxy (minutes: ~2.5 on 2 idle cores, far more under load)"
  export GOTOOLCHAIN=local GOFLAGS=-buildvcs=false CGO_ENABLED=0
  dir="$(cd "$BASE" && timeout 900 go mod download -json "github.com/dapr/dapr@$DAPR_VERSION" 2>>"$blog" |
    tee -a "$blog" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')" || true
  [[ -n "$dir" && -f "$dir/go.mod" ]] ||
    die "go mod download github.com/dapr/dapr@$DAPR_VERSION failed" "$blog"
  rm -rf "$src"; mkdir -p "$(dirname "$src")"
  cp -r "$dir" "$src"; chmod -R u+w "$src"
  (cd "$src" && timeout 2400 go build -tags stablecomponents -trimpath \
    -ldflags="-s -w -X github.com/dapr/dapr/pkg/buildinfo.version=${DAPR_VERSION#v}" \
    -o "$BIN.tmp" ./cmd/daprd >>"$blog" 2>&1) ||
    die "go build ./cmd/daprd ($DAPR_VERSION) failed" "$blog"
  mv -f "$BIN.tmp" "$BIN"
  rm -rf "$src"
  log "built $("$BIN" --version 2>&1 | head -n1)"
}


# The component files users' sidecars (and the demo) load. consumerID is left
# out: Dapr then uses the sidecar's app id, which is the consumer group.
write_components() {
  mkdir -p "$COMPONENTS"
  local redis_port="${HERALD_REDIS_PORT:-6379}"
  local rabbit_url="${HERALD_RABBITMQ_URL:-amqp://herald:herald@127.0.0.1:5672}"
  local kafka_brokers="${HERALD_KAFKA_BROKERS:-127.0.0.1:9092}"
  cat >"$COMPONENTS/redis-pubsub.yaml" <<YAML
apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: redis-pubsub
spec:
  type: pubsub.redis
  version: v1
  metadata:
    - name: redisHost
      value: "127.0.0.1:$redis_port"
    - name: processingTimeout
      value: "15s"
    - name: redeliverInterval
      value: "5s"
YAML
  cat >"$COMPONENTS/rabbit-pubsub.yaml" <<YAML
apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: rabbit-pubsub
spec:
  type: pubsub.rabbitmq
  version: v1
  metadata:
    - name: connectionString
      secretKeyRef: { name: HERALD_RABBITMQ_URL, key: HERALD_RABBITMQ_URL }
    - name: durable
      value: "true"
    - name: deletedWhenUnused
      value: "false"
    - name: deliveryMode
      value: "2"
    - name: requeueInFailure
      value: "true"
    - name: publisherConfirm
      value: "true"
auth:
  secretStore: herald-env
YAML
  # the RabbitMQ URL holds a password: read from the environment by this secret store, never written here
  cat >"$COMPONENTS/herald-env.yaml" <<YAML
apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: herald-env
spec:
  type: secretstores.local.env
  version: v1
  metadata: []
YAML
  cat >"$COMPONENTS/kafka-pubsub.yaml" <<YAML
apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: kafka-pubsub
spec:
  type: pubsub.kafka
  version: v1
  metadata:
    - name: brokers
      value: "$kafka_brokers"
    - name: authType
      value: "none"
    - name: initialOffset
      value: "oldest"
YAML
  : "$rabbit_url" # documented default; the sidecar reads HERALD_RABBITMQ_URL itself
}

cmd_sidecar() {
  local app="${1:?app id}" grpc="${2:?grpc port}" http="${3:?http port}" res="${4:-$COMPONENTS}"
  build
  [[ -d "$res" ]] || write_components
  exec "$BIN" --app-id "$app" --dapr-grpc-port "$grpc" --dapr-http-port "$http" \
    --dapr-listen-addresses 127.0.0.1 --dapr-internal-grpc-listen-address 127.0.0.1 \
    --dapr-public-listen-address 127.0.0.1 --resources-path "$res" \
    --placement-host-address "" --scheduler-host-address "" \
    --enable-metrics=false --log-level "${DAPR_LOG_LEVEL:-warn}"
}

case "${1:-start}" in
  start) service_lock dapr; build; write_components; log "ready: $BIN (components in $COMPONENTS)"; printf '%s\n' "$BIN" ;;
  install) service_lock dapr; build ;;
  components) write_components; printf '%s\n' "$COMPONENTS" ;;
  bin) printf '%s\n' "$BIN" ;;
  status) if [[ -x "$BIN" ]]; then log "built: $BIN"; else log "not built"; exit 1; fi ;;
  sidecar) shift; cmd_sidecar "$@" ;;
  -h|--help|help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//' >&2 ;;
  *) usage_common; exit 2 ;;
esac
