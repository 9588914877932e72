#!/usr/bin/env bash
# Start Debian's PostgreSQL cluster (15/main) on 127.0.0.1:${PGPORT:-5432}, give the postgres
# role a password and create the pakhuis database; prints the PAKHUIS_DATABASE_URL to use.
set -euo pipefail
version=${PG_VERSION:-15}
port=${PGPORT:-5432}
password=${PGPASSWORD_PAKHUIS:-pakhuis}
command -v pg_ctlcluster >/dev/null || { echo "postgresql is not installed: apt-get install postgresql" >&2; exit 1; }
if ! pg_lsclusters -h | awk '{print $1"/"$2}' | grep -qx "$version/main"; then
  pg_createcluster "$version" main -p "$port" >/dev/null
fi
status=$(pg_lsclusters -h | awk -v v="$version" '$1==v && $2=="main" {print $4}')
if [ "$status" != "online" ]; then
  pg_ctlcluster "$version" main start
fi
for _ in $(seq 1 50); do
  pg_isready -h 127.0.0.1 -p "$port" -q && break
  sleep 0.2
done
pg_isready -h 127.0.0.1 -p "$port" -q || { echo "PostgreSQL did not start; see /var/log/postgresql/" >&2; exit 1; }
su postgres -c "psql -q -p $port -c \"ALTER ROLE postgres PASSWORD '$password'\""
if ! su postgres -c "psql -p $port -tAc \"SELECT 1 FROM pg_database WHERE datname='pakhuis'\"" | grep -q 1; then
  su postgres -c "createdb -p $port pakhuis"
fi
echo "postgresql://postgres:$password@127.0.0.1:$port/pakhuis"
