#!/usr/bin/env bash
# Make PostgreSQL and Redis reachable for the tests: start them where installed and stopped,
# install them with apt-get where missing (only as root). Prints what it did.
set -euo pipefail

PG_HOST=127.0.0.1 PG_PORT=5432 REDIS_PORT=6379
as_root() { [ "$(id -u)" = 0 ]; }
apt_install() {
  if ! as_root; then
    echo "error: $* is missing and installing it needs root (apt-get install $*)." >&2
    exit 2
  fi
  echo "==> installing $* with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null || true
  apt-get install -y -qq "$@" >/dev/null
}

pg_up() { pg_isready -q -h "$PG_HOST" -p "$PG_PORT" 2>/dev/null; }
redis_up() {
  if command -v redis-cli >/dev/null; then redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG
  else (exec 3<>/dev/tcp/127.0.0.1/$REDIS_PORT) 2>/dev/null; fi
}
wait_for() { for _ in $(seq 1 60); do "$1" && return 0; sleep 0.5; done; return 1; }

if ! pg_up; then
  command -v pg_ctlcluster >/dev/null || apt_install postgresql postgresql-client
  version=$(ls /etc/postgresql | sort -V | tail -1)
  echo "==> starting PostgreSQL $version"
  pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  wait_for pg_up || { echo "error: PostgreSQL did not come up on $PG_HOST:$PG_PORT." >&2; exit 1; }
fi
# The tests connect as postgres/postgres over TCP; on a fresh install that needs a password.
if as_root && command -v runuser >/dev/null && ! PGPASSWORD=postgres psql -h "$PG_HOST" -U postgres -d postgres -tAc 'select 1' >/dev/null 2>&1; then
  runuser -u postgres -- psql -q -c "ALTER USER postgres PASSWORD 'postgres'" >/dev/null
fi
if ! PGPASSWORD=postgres psql -h "$PG_HOST" -U postgres -d postgres -tAc "select 1 from pg_database where datname='test'" | grep -q 1; then
  PGPASSWORD=postgres psql -h "$PG_HOST" -U postgres -d postgres -qc 'CREATE DATABASE test'
fi

if ! redis_up; then
  command -v redis-server >/dev/null || apt_install redis-server
  echo "==> starting Redis on 127.0.0.1:$REDIS_PORT"
  redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no >/dev/null
  wait_for redis_up || { echo "error: Redis did not come up on 127.0.0.1:$REDIS_PORT." >&2; exit 1; }
fi
echo "==> PostgreSQL and Redis are reachable"
