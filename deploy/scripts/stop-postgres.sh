#!/usr/bin/env bash
# Stop the PostgreSQL cluster of start-postgres.sh (fast shutdown: open sessions are ended, as
# in a database outage); start it again with start-postgres.sh.
set -euo pipefail
version=${PG_VERSION:-15}
command -v pg_ctlcluster >/dev/null || { echo "postgresql is not installed: apt-get install postgresql" >&2; exit 1; }
status=$(pg_lsclusters -h | awk -v v="$version" '$1==v && $2=="main" {print $4}')
if [ "$status" = "online" ]; then
  pg_ctlcluster "$version" main stop -m fast
  echo "postgresql $version/main stopped"
else
  echo "postgresql $version/main is not running"
fi
