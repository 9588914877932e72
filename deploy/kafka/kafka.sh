#!/usr/bin/env bash
# A real single-node Kafka (KRaft) from Apache Kafka's own Maven artifacts, for development and CI.
#   deploy/kafka/kafka.sh up      fetch jars (first time), format storage (first time), start, wait
#   deploy/kafka/kafka.sh down    stop
#   deploy/kafka/kafka.sh restart stop (controlled shutdown), then up again on the same state
#   deploy/kafka/kafka.sh status
# State lives in ${KAFKA_STATE_DIR:-/tmp/pakhuis-kafka}; the broker listens on 127.0.0.1:9092.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
state=${KAFKA_STATE_DIR:-/tmp/pakhuis-kafka}
heap=${KAFKA_HEAP:-768m}
cp="$here/lib/*"

fetch() {
  if [ ! -f "$here/lib/kafka_2.13-$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$here/pom.xml").jar" ]; then
    echo "fetching Apache Kafka jars with Maven into $here/lib"
    mvn -q -B -f "$here/pom.xml" dependency:copy-dependencies
  fi
}

listening() { (exec 3<>/dev/tcp/127.0.0.1/9092) 2>/dev/null; }

up() {
  command -v java >/dev/null || { echo "java (17+) is required" >&2; exit 1; }
  fetch
  mkdir -p "$state"
  if [ -f "$state/kafka.pid" ] && kill -0 "$(cat "$state/kafka.pid")" 2>/dev/null && listening; then
    echo "kafka already running on 127.0.0.1:9092 (pid $(cat "$state/kafka.pid"))"; return
  fi
  sed -e "\$a log.dirs=$state/data" "$here/server.properties" > "$state/server.properties"
  if [ ! -f "$state/data/meta.properties" ]; then
    cluster_id=$(java -cp "$cp" kafka.tools.StorageTool random-uuid)
    java -cp "$cp" -Dlog4j2.configurationFile="$here/log4j2.yaml" kafka.tools.StorageTool format \
      --standalone -t "$cluster_id" -c "$state/server.properties" >/dev/null
  fi
  nohup java -Xms256m -Xmx"$heap" -XX:+UseG1GC -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$here/log4j2.yaml" -cp "$cp" kafka.Kafka "$state/server.properties" \
    > "$state/kafka.log" 2>&1 &
  echo $! > "$state/kafka.pid"
  for _ in $(seq 1 120); do
    if listening && grep -q "Kafka Server started" "$state/kafka.log"; then
      echo "kafka listening on 127.0.0.1:9092 (pid $(cat "$state/kafka.pid"), state in $state)"; return
    fi
    kill -0 "$(cat "$state/kafka.pid")" 2>/dev/null || break
    sleep 0.5
  done
  echo "kafka did not start; see $state/kafka.log" >&2
  tail -20 "$state/kafka.log" >&2
  exit 1
}

down() {
  if [ -f "$state/kafka.pid" ]; then
    pid=$(cat "$state/kafka.pid")
    if kill "$pid" 2>/dev/null; then
      for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
      kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$state/kafka.pid"
    echo "kafka stopped"
  else
    echo "kafka is not running"
  fi
}

status() {
  if listening; then echo "kafka listening on 127.0.0.1:9092"; else echo "kafka is not running"; exit 1; fi
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  restart) down; up ;;
  status) status ;;
  fetch) fetch ;;
  *) echo "usage: $0 up|down|restart|status|fetch" >&2; exit 2 ;;
esac
