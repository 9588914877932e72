#!/usr/bin/env bash
# Start Debian's Mosquitto on 127.0.0.1:${PORT:-1883} with deploy/mosquitto/mosquitto.conf,
# state under ${STATE_DIR:-/tmp/pakhuis-mosquitto}; waits until it accepts connections.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
port=${PORT:-1883}
state=${STATE_DIR:-/tmp/pakhuis-mosquitto}
command -v mosquitto >/dev/null || { echo "mosquitto is not installed: apt-get install mosquitto mosquitto-clients" >&2; exit 1; }
mkdir -p "$state"
if [ "$(id -u)" = 0 ] && id mosquitto >/dev/null 2>&1; then chown mosquitto "$state"; fi
if mosquitto_sub -h 127.0.0.1 -p "$port" -t '$SYS/broker/version' -C 1 -W 2 >/dev/null 2>&1; then
  echo "mosquitto already listening on 127.0.0.1:$port"; exit 0
fi
sed -e "s/^listener 1883 /listener $port /" "$here/mosquitto/mosquitto.conf" > "$state/mosquitto.conf"
{
  echo "persistence_location $state/"
  echo "pid_file $state/mosquitto.pid"
  echo "log_dest file $state/mosquitto.log"
} >> "$state/mosquitto.conf"
mosquitto -c "$state/mosquitto.conf" -d
for _ in $(seq 1 50); do
  if mosquitto_sub -h 127.0.0.1 -p "$port" -t '$SYS/broker/version' -C 1 -W 2 >/dev/null 2>&1; then
    echo "mosquitto listening on 127.0.0.1:$port (state in $state)"; exit 0
  fi
  sleep 0.2
done
echo "mosquitto did not start; see $state/mosquitto.log" >&2
exit 1
