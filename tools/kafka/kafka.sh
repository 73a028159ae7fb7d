#!/usr/bin/env bash
# Local single-node Apache Kafka (KRaft, broker + controller in one JVM) without Docker.
#
#   bash tools/kafka/kafka.sh start | stop | status | restart
#
# - Jars come from Maven Central (tools/kafka/pom.xml, `mvn dependency:copy-dependencies`) into
#   $KAFKA_HOME/<version>/libs (default ~/.cache/svp-kafka); skipped when already there.
# - Storage is formatted once in $KAFKA_DATA_DIR (default /tmp/svp-kafka-data); the generated
#   server.properties, kafka.log and kafka.pid live there too. `rm -rf` it (broker stopped) to reset.
# - Listens on 127.0.0.1:9092 (PLAINTEXT), controller on 127.0.0.1:9093 (KAFKA_PORT and
#   KAFKA_CONTROLLER_PORT move them: the reliability drills run a second broker of their own, with its
#   own KAFKA_DATA_DIR, which they stop and start without disturbing the first).
#
# Why 3.9.1 and not 4.x: the services use kafkajs 2.2.4 (last release 2023, unmaintained), and
# Kafka 4.0 removed old request versions from the broker (KIP-896). kafkajs negotiates versions
# through ApiVersions, so it breaks on 4.x wherever its newest version of an API is below the new
# minimum; a 3.9.x broker still accepts every version kafkajs can send, so that risk does not exist.
# 3.9 is the last 3.x line (3.9.2 is also on Maven Central). Verified with kafkajs 2.2.4 against
# this broker: produce (idempotent and transactional), consumer-group consume with committed
# offsets, auto-created topics, admin calls. (The same check against 4.1.0 also passed, but 3.9.1
# stays the safe pin until a maintained client replaces kafkajs.)
# Change KAFKA_VERSION together with <kafka.version> in tools/kafka/pom.xml.
#
# Environment (all optional):
#   KAFKA_HOME             jar cache root                 (~/.cache/svp-kafka)
#   KAFKA_DATA_DIR         data, config, log, pid file    (/tmp/svp-kafka-data)
#   KAFKA_PORT             broker (PLAINTEXT) port        (9092)
#   KAFKA_CONTROLLER_PORT  KRaft controller port          (9093)
#   KAFKA_HEAP             JVM heap flags                 (-Xms256m -Xmx512m)
#   KAFKA_JVM_OPTS         extra JVM flags
#   KAFKA_START_TIMEOUT    seconds to wait for the port   (60)
#   KAFKA_STOP_TIMEOUT     seconds before SIGKILL         (30)
#   JAVA, MVN              java / mvn commands            (java, mvn)
set -euo pipefail

readonly KAFKA_VERSION=3.9.1
readonly HOST=127.0.0.1
readonly PORT="${KAFKA_PORT:-9092}"
readonly CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
KAFKA_HOME="${KAFKA_HOME:-${HOME:-/root}/.cache/svp-kafka}"
LIBS_DIR="$KAFKA_HOME/$KAFKA_VERSION/libs"
DATA_DIR="${KAFKA_DATA_DIR:-/tmp/svp-kafka-data}"
KAFKA_HEAP="${KAFKA_HEAP:--Xms256m -Xmx512m}"
KAFKA_JVM_OPTS="${KAFKA_JVM_OPTS:-}"
START_TIMEOUT="${KAFKA_START_TIMEOUT:-60}"
STOP_TIMEOUT="${KAFKA_STOP_TIMEOUT:-30}"
JAVA="${JAVA:-java}"
MVN="${MVN:-mvn}"

PID_FILE="$DATA_DIR/kafka.pid"
LOG_FILE="$DATA_DIR/kafka.log"
CONFIG_FILE="$DATA_DIR/server.properties"
LOG_DIRS="$DATA_DIR/kraft-logs"

log() { echo "kafka.sh: $*"; }
die() { echo "kafka.sh: error: $*" >&2; exit 1; }

# True when something accepts TCP connections on $HOST:$1.
port_open() {
  if command -v timeout >/dev/null 2>&1; then
    timeout 2 bash -c "exec 3<>/dev/tcp/$HOST/$1" 2>/dev/null
  else
    (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null
  fi
}

# Pid from the pid file when that process is alive and is our broker; empty otherwise.
running_pid() {
  [[ -f "$PID_FILE" ]] || return 0
  local pid
  pid="$(tr -dc '0-9' <"$PID_FILE")"
  [[ -n "$pid" ]] || return 0
  if kill -0 "$pid" 2>/dev/null && grep -qa 'kafka\.Kafka' "/proc/$pid/cmdline" 2>/dev/null; then
    echo "$pid"
  fi
}

# Serialize start/stop between concurrent callers (two test runs, CI + a developer).
take_lock() {
  mkdir -p "$DATA_DIR"
  if command -v flock >/dev/null 2>&1; then
    exec 9>"$DATA_DIR/.lock"
    flock -w 120 9 || die "could not take the lock $DATA_DIR/.lock within 120 s"
  fi
}

fetch_jars() {
  if [[ -f "$LIBS_DIR/kafka_2.13-$KAFKA_VERSION.jar" && -f "$LIBS_DIR/.complete" ]]; then
    return 0
  fi
  command -v "$MVN" >/dev/null 2>&1 || die "Maven (mvn) is needed to fetch the Kafka jars: apt-get install -y maven"
  log "fetching Apache Kafka $KAFKA_VERSION jars from Maven Central into $LIBS_DIR ..."
  local tmp="$LIBS_DIR.tmp.$$"
  rm -rf "$tmp"
  mkdir -p "$tmp"
  local mvn_log="$KAFKA_HOME/$KAFKA_VERSION/mvn.log"
  if ! "$MVN" -q -B -f "$SCRIPT_DIR/pom.xml" dependency:copy-dependencies \
      -DoutputDirectory="$tmp" -DincludeScope=runtime >"$mvn_log" 2>&1; then
    sed 's/\x1b\[[0-9;]*m//g' "$mvn_log" | tail -n 30 >&2
    rm -rf "$tmp"
    die "mvn dependency:copy-dependencies failed (is Maven Central reachable?); full output in $mvn_log"
  fi
  [[ -f "$tmp/kafka_2.13-$KAFKA_VERSION.jar" ]] || { rm -rf "$tmp"; die "kafka_2.13-$KAFKA_VERSION.jar missing after mvn"; }
  touch "$tmp/.complete"
  rm -rf "$LIBS_DIR"
  mv "$tmp" "$LIBS_DIR"
  log "jars ready ($(ls "$LIBS_DIR"/*.jar | wc -l) files)"
}

write_config() {
  mkdir -p "$LOG_DIRS"
  cat >"$CONFIG_FILE" <<EOF
# Generated by tools/kafka/kafka.sh — edits are overwritten on every start.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$HOST:$CONTROLLER_PORT
listeners=PLAINTEXT://$HOST:$PORT,CONTROLLER://$HOST:$CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$HOST:$PORT
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$LOG_DIRS

auto.create.topics.enable=true
delete.topic.enable=true
num.partitions=3
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=10
group.initial.rebalance.delay.ms=0

num.network.threads=2
num.io.threads=4
log.retention.hours=24
log.segment.bytes=104857600
EOF
}

format_storage() {
  if [[ -f "$LOG_DIRS/meta.properties" ]]; then
    return 0
  fi
  local cluster_id
  cluster_id="$("$JAVA" -cp "$LIBS_DIR/*" -Dlog4j.configuration="file:$SCRIPT_DIR/log4j.properties" \
    kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n 1)"
  [[ -n "$cluster_id" ]] || die "kafka.tools.StorageTool random-uuid returned nothing"
  log "formatting KRaft storage in $LOG_DIRS (cluster id $cluster_id)"
  "$JAVA" -cp "$LIBS_DIR/*" -Dlog4j.configuration="file:$SCRIPT_DIR/log4j.properties" \
    kafka.tools.StorageTool format -t "$cluster_id" -c "$CONFIG_FILE" --ignore-formatted >>"$DATA_DIR/format.log" 2>&1 \
    || { tail -n 30 "$DATA_DIR/format.log" >&2; die "formatting the storage failed"; }
}

start() {
  take_lock
  local pid
  pid="$(running_pid)"
  if [[ -n "$pid" ]]; then
    log "already running (pid $pid) on $HOST:$PORT"
    return 0
  fi
  rm -f "$PID_FILE"
  if port_open "$PORT"; then
    log "$HOST:$PORT already answers (not started by this script, no pid file in $DATA_DIR); leaving it alone"
    return 0
  fi
  if port_open "$CONTROLLER_PORT"; then
    die "$HOST:$CONTROLLER_PORT (controller port) is taken by another process"
  fi
  command -v "$JAVA" >/dev/null 2>&1 || die "Java 17+ is needed: apt-get install -y openjdk-17-jre-headless"

  fetch_jars
  write_config
  format_storage

  log "starting Kafka $KAFKA_VERSION on $HOST:$PORT (data $DATA_DIR, log $LOG_FILE)"
  : >"$LOG_FILE"
  # A new session (setsid) so the broker outlives the caller's process group (Jest, CI step); the
  # inner shell writes its own pid, then becomes java via exec, so the pid file names the JVM.
  local launcher=()
  command -v setsid >/dev/null 2>&1 && launcher=(setsid)
  # shellcheck disable=SC2086 # KAFKA_HEAP / KAFKA_JVM_OPTS are word lists on purpose
  nohup ${launcher[@]+"${launcher[@]}"} bash -c 'echo $$ >"$0"; exec "$@"' "$PID_FILE" \
    "$JAVA" $KAFKA_HEAP -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true $KAFKA_JVM_OPTS \
    -Dlog4j.configuration="file:$SCRIPT_DIR/log4j.properties" \
    -cp "$LIBS_DIR/*" kafka.Kafka "$CONFIG_FILE" \
    </dev/null >>"$LOG_FILE" 2>&1 9>&- &

  local waited=0
  while (( waited < START_TIMEOUT * 2 )); do
    sleep 0.5
    waited=$((waited + 1))
    pid="$(running_pid)"
    if [[ -z "$pid" && $waited -gt 4 ]]; then
      echo "---- last lines of $LOG_FILE ----" >&2
      tail -n 40 "$LOG_FILE" >&2 || true
      rm -f "$PID_FILE"
      die "the broker exited during start-up"
    fi
    if [[ -n "$pid" ]] && port_open "$PORT" && grep -q 'Kafka Server started' "$LOG_FILE"; then
      log "started (pid $pid) in ~$((waited / 2)) s; KAFKA_BROKERS=$HOST:$PORT"
      return 0
    fi
  done
  echo "---- last lines of $LOG_FILE ----" >&2
  tail -n 40 "$LOG_FILE" >&2 || true
  pid="$(running_pid)"
  [[ -n "$pid" ]] && kill -TERM "$pid" 2>/dev/null || true
  die "$HOST:$PORT did not answer within $START_TIMEOUT s"
}

stop() {
  take_lock
  local pid
  pid="$(running_pid)"
  if [[ -z "$pid" ]]; then
    rm -f "$PID_FILE"
    if port_open "$PORT"; then
      log "not started by this script (no live pid in $PID_FILE), but $HOST:$PORT answers; not touching it"
    else
      log "not running"
    fi
    return 0
  fi
  log "stopping (pid $pid) ..."
  kill -TERM "$pid" 2>/dev/null || true
  local waited=0
  while kill -0 "$pid" 2>/dev/null && (( waited < STOP_TIMEOUT * 2 )); do
    sleep 0.5
    waited=$((waited + 1))
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "still alive after $STOP_TIMEOUT s, sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    sleep 0.5
  fi
  rm -f "$PID_FILE"
  log "stopped"
}

status() {
  local pid
  pid="$(running_pid)"
  if [[ -n "$pid" ]]; then
    if port_open "$PORT"; then
      log "running (pid $pid), $HOST:$PORT answers; Kafka $KAFKA_VERSION, data $DATA_DIR"
    else
      log "process running (pid $pid) but $HOST:$PORT does not answer (starting?); see $LOG_FILE"
    fi
    return 0
  fi
  if port_open "$PORT"; then
    log "$HOST:$PORT answers, but not a broker started by this script"
    return 0
  fi
  log "not running"
  return 3
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  restart) stop; exec 9>&-; start ;;
  *) echo "usage: $0 start|stop|status|restart" >&2; exit 2 ;;
esac
