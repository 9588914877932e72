#!/usr/bin/env bash
# Restart the Mosquitto of start-mosquitto.sh gracefully: SIGTERM makes it write its persistence
# database (sessions, subscriptions, queued and in-flight QoS 1 messages) to ${STATE_DIR}, and the
# new process loads it, so persistent sessions and their messages survive the restart.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
state=${STATE_DIR:-/tmp/pakhuis-mosquitto}
port=${PORT:-1883}
if [ -f "$state/mosquitto.pid" ]; then
  pid=$(cat "$state/mosquitto.pid")
  if kill "$pid" 2>/dev/null; then
    # Wait for the exit (the persistence file is written on the way out), then for the port.
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then echo "mosquitto (pid $pid) did not stop" >&2; exit 1; fi
  fi
fi
for _ in $(seq 1 50); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || break
  sleep 0.1
done
PORT=$port STATE_DIR=$state bash "$here/start-mosquitto.sh"
