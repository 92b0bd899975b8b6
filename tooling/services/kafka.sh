#!/usr/bin/env bash
# Apache Kafka 4.x in KRaft combined mode (broker+controller, node.id=1),
# fetched from Maven Central with tooling/services/kafka/pom.xml (no tarball).
#   broker 127.0.0.1:9092, controller 127.0.0.1:9093
#   Brokers: 127.0.0.1:9092
# usage: kafka.sh [start|stop|restart|status|url]
#        kafka.sh install                 only fetch the jars (cached in $HERALD_SERVICES_DIR/kafka/libs)
#        kafka.sh topics list|create NAME [PARTITIONS]|delete NAME
#        kafka.sh smoke [TOPIC]           create topic, produce one record, consume it back
#        kafka.sh ready                   Admin.describeCluster against the broker
# env: KAFKA_VERSION (default: the version pinned in kafka/pom.xml),
#      KAFKA_HEAP_OPTS (default -Xms512m -Xmx512m)
. "$(dirname "$0")/lib.sh"

K_HOST=127.0.0.1
K_PORT="${HERALD_KAFKA_PORT:-9092}"
K_CTRL_PORT=$((K_PORT + 1))
K_BROKERS="$K_HOST:$K_PORT"
POM="$HERALD_SERVICES_SRC/kafka/pom.xml"
ADMIN_SRC="$HERALD_SERVICES_SRC/kafka/KafkaAdmin.java"
PINNED_VERSION="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$POM")"
KAFKA_VERSION="${KAFKA_VERSION:-$PINNED_VERSION}"
HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xms512m -Xmx512m}"

BASE="$HERALD_SERVICES_DIR/kafka"
LIBS="$BASE/libs"
DATA="$BASE/data"
CONF="$BASE/server.properties"
LOG4J="$BASE/log4j2.properties"
LOG="$BASE/kafka.log"
PIDFILE="$BASE/kafka.pid"
CLUSTER_ID_FILE="$BASE/cluster.id"
READY_RE='Kafka Server started|started \(kafka\.server\.KafkaRaftServer\)'

ensure_java() {
  if ! command -v java >/dev/null || ! command -v javac >/dev/null; then
    apt_install openjdk-17-jdk-headless
  fi
  local major
  major="$(java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')"
  [[ "${major%%.*}" -ge 17 ]] 2>/dev/null || die "Kafka 4.x needs Java 17+, found '${major:-none}'"
}

fetch_libs() {
  ensure_java
  if [[ -f "$LIBS/.complete-$KAFKA_VERSION" ]] && compgen -G "$LIBS/kafka_2.13-$KAFKA_VERSION.jar" >/dev/null; then
    return 0
  fi
  command -v mvn >/dev/null || apt_install maven
  mkdir -p "$BASE"
  local tmp="$BASE/libs.tmp" mlog="$BASE/mvn.log"
  rm -rf "$tmp"
  log "fetching Kafka $KAFKA_VERSION (org.apache.kafka:kafka_2.13) and its runtime dependencies from Maven Central"
  (cd "$HERALD_SERVICES_SRC/kafka" && timeout 900 mvn -B -q -f "$POM" \
      dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$tmp" \
      -Dkafka.version="$KAFKA_VERSION" >"$mlog" 2>&1) ||
    die "mvn could not fetch kafka_2.13:$KAFKA_VERSION (see $mlog)" "$mlog"
  [[ -f "$tmp/kafka_2.13-$KAFKA_VERSION.jar" ]] || die "kafka_2.13-$KAFKA_VERSION.jar missing after mvn" "$mlog"
  rm -rf "$LIBS"; mv "$tmp" "$LIBS"
  touch "$LIBS/.complete-$KAFKA_VERSION"
  log "cached $(ls "$LIBS"/*.jar | wc -l) jars ($(du -sh "$LIBS" | cut -f1)) in $LIBS"
}

write_conf() {
  mkdir -p "$DATA" "$BASE/logs"
  cat >"$CONF" <<EOF
# written by tooling/services/kafka.sh - rewritten on every start
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$K_HOST:$K_CTRL_PORT
listeners=PLAINTEXT://$K_HOST:$K_PORT,CONTROLLER://$K_HOST:$K_CTRL_PORT
advertised.listeners=PLAINTEXT://$K_HOST:$K_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$DATA
num.partitions=3
default.replication.factor=1
min.insync.replicas=1
auto.create.topics.enable=true
delete.topic.enable=true
group.initial.rebalance.delay.ms=0
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=10
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
log.retention.hours=24
log.segment.bytes=67108864
num.network.threads=2
num.io.threads=4
EOF
  cat >"$LOG4J" <<'EOF'
# written by tooling/services/kafka.sh
status = warn
appender.out.type = Console
appender.out.name = STDOUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = info
rootLogger.appenderRef.out.ref = STDOUT
logger.kafkarequest.name = kafka.request.logger
logger.kafkarequest.level = warn
logger.requestchannel.name = kafka.network.RequestChannel$
logger.requestchannel.level = warn
logger.statechange.name = state.change.logger
logger.statechange.level = warn
EOF
  write_tools_log4j
}

# log4j2 config for the CLI helpers: warnings only, on stderr
write_tools_log4j() {
  mkdir -p "$BASE"
  cat >"$BASE/log4j2-tools.properties" <<'EOF'
status = warn
appender.err.type = Console
appender.err.name = STDERR
appender.err.target = SYSTEM_ERR
appender.err.layout.type = PatternLayout
appender.err.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = warn
rootLogger.appenderRef.err.ref = STDERR
EOF
}

kafka_java() {
  # shellcheck disable=SC2086
  exec_java java $HEAP_OPTS -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$LOG4J" -Dkafka.logs.dir="$BASE/logs" \
    -cp "$LIBS/*" "$@"
}
exec_java() { "$@"; }

format_storage() {
  if [[ -f "$DATA/meta.properties" ]]; then return 0; fi
  if [[ ! -s "$CLUSTER_ID_FILE" ]]; then
    kafka_java kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n1 >"$CLUSTER_ID_FILE.tmp" ||
      die "kafka.tools.StorageTool random-uuid failed"
    mv "$CLUSTER_ID_FILE.tmp" "$CLUSTER_ID_FILE"
  fi
  local id; id="$(cat "$CLUSTER_ID_FILE")"
  log "formatting KRaft storage in $DATA (cluster id $id)"
  kafka_java kafka.tools.StorageTool format -t "$id" -c "$CONF" >"$BASE/format.log" 2>&1 ||
    die "kafka.tools.StorageTool format failed" "$BASE/format.log"
}

k_running() {
  pid_alive "$PIDFILE" && port_open "$K_HOST" "$K_PORT" && grep -Eq "$READY_RE" "$LOG" 2>/dev/null
}

start_kafka() {
  local p
  for p in "$K_PORT" "$K_CTRL_PORT"; do
    port_open "$K_HOST" "$p" && die "port $K_HOST:$p is already taken by another process (not our broker); stop it first"
  done
  rm -f "$PIDFILE"
  rotate_log "$LOG"
  log "starting Kafka $KAFKA_VERSION (KRaft broker+controller) on $K_BROKERS"
  # the subshell execs into java, so $! is the JVM's pid
  (cd "$BASE" && close_extra_fds && exec_java() { exec setsid "$@"; } && kafka_java kafka.Kafka "$CONF") >>"$LOG" 2>&1 </dev/null &
  echo $! >"$PIDFILE"
  local deadline=$((SECONDS + 120))
  until port_open "$K_HOST" "$K_PORT" && grep -Eq "$READY_RE" "$LOG"; do
    pid_alive "$PIDFILE" || die "Kafka exited during startup" "$LOG"
    ((SECONDS < deadline)) || die "Kafka not ready on $K_BROKERS within 120s" "$LOG"
    sleep 0.5
  done
}

stop_kafka() {
  if ! pid_alive "$PIDFILE"; then log "not running"; rm -f "$PIDFILE"; return 0; fi
  log "stopping Kafka"
  stop_pidfile "$PIDFILE" 60
  wait_for_port_closed "$K_HOST" "$K_PORT" 10 || warn "port $K_PORT still open after stop"
}

admin() {
  [[ -d "$LIBS" ]] || die "Kafka is not installed; run kafka.sh first"
  ensure_java
  [[ -f "$BASE/log4j2-tools.properties" ]] || write_tools_log4j
  timeout 120 java -Xmx256m -cp "$LIBS/*" -Dlog4j2.configurationFile="$BASE/log4j2-tools.properties" \
    "$ADMIN_SRC" "$K_BROKERS" "$@"
}

cmd_start() {
  require_root
  if k_running; then
    log "already running on $K_BROKERS"
  else
    fetch_libs
    write_conf
    format_storage
    start_kafka
  fi
  log "ready: $K_BROKERS"
  printf '%s\n' "$K_BROKERS"
}

case "${1:-start}" in
  start) service_lock kafka; cmd_start ;;
  install) require_root; service_lock kafka; fetch_libs ;;
  stop) require_root; service_lock kafka; stop_kafka ;;
  restart) require_root; service_lock kafka; stop_kafka; cmd_start ;;
  status) if k_running; then log "running"; else log "not running"; exit 1; fi ;;
  url) printf '%s\n' "$K_BROKERS" ;;
  topics) shift; sub="${1:-list}"; shift || true; admin "$sub" "$@" ;;
  smoke) shift; admin smoke "$@" ;;
  ready) admin ready ;;
  -h|--help|help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//' >&2 ;;
  *) usage_common; exit 2 ;;
esac
