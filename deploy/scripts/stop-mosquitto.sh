#!/usr/bin/env bash
set -euo pipefail
state=${STATE_DIR:-/tmp/pakhuis-mosquitto}
if [ -f "$state/mosquitto.pid" ]; then kill "$(cat "$state/mosquitto.pid")" 2>/dev/null || true; fi
