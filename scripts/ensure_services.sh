#!/usr/bin/env bash
# Make PostgreSQL and Redis reachable for the test suite, then write their URLs to $1;
# install Debian's Chromium for the browser tests when it is missing.
#
# Uses DATABASE_URL / REDIS_URL when set; otherwise the local defaults. Where a server is
# missing or stopped on a Debian machine where we are root, installs and starts it.
set -euo pipefail

out=${1:-var/test-services.env}
py=${PYTHON:-.venv/bin/python}
db_url=${DATABASE_URL:-postgres://root@127.0.0.1:5432/test}
redis_url=${REDIS_URL:-redis://127.0.0.1:6379/0}
socket_db_url="postgres://root@%2Fvar%2Frun%2Fpostgresql/test"

say() { printf 'services: %s\n' "$*" >&2; }

pg_ok() {
  "$py" - "$1" <<'PY' >/dev/null 2>&1
import sys, psycopg, dj_database_url
c = dj_database_url.parse(sys.argv[1])
psycopg.connect(dbname=c["NAME"], user=c["USER"] or None, password=c["PASSWORD"] or None,
                host=c["HOST"] or None, port=c["PORT"] or None, connect_timeout=3).close()
PY
}

redis_ok() {
  "$py" -c "import redis,sys; redis.Redis.from_url(sys.argv[1], socket_connect_timeout=3).ping()" "$1" >/dev/null 2>&1
}

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else return 1; fi; }

apt_install() {
  command -v apt-get >/dev/null || { say "cannot install $* (no apt-get)"; return 1; }
  if [ ! -f var/.apt-updated ]; then as_root apt-get update -qq && mkdir -p var && touch var/.apt-updated; fi
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@" >/dev/null
}

start_postgres() {
  if ! command -v pg_lsclusters >/dev/null || [ -z "$(pg_lsclusters -h 2>/dev/null)" ]; then
    say "installing PostgreSQL"
    apt_install postgresql
  fi
  pg_lsclusters -h | while read -r version cluster _port status _rest; do
    if [ "$status" != online ]; then
      say "starting PostgreSQL $version/$cluster"
      as_root pg_ctlcluster --skip-systemctl-redirect "$version" "$cluster" start
    fi
  done
  # A fresh cluster has no role for us yet: create it (peer auth over the socket) and the db.
  as_root su postgres -c "psql -tAc \"SELECT 1 FROM pg_roles WHERE rolname='root'\" | grep -q 1 || createuser --superuser root" || true
  as_root su postgres -c "psql -tAc \"SELECT 1 FROM pg_database WHERE datname='test'\" | grep -q 1 || createdb -O root test" || true
}

start_redis() {
  if ! command -v redis-server >/dev/null; then
    say "installing Redis"
    apt_install redis-server
  fi
  say "starting Redis"
  mkdir -p var/redis
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    --dir "$PWD/var/redis" --logfile "$PWD/var/redis/redis.log"
  for _ in $(seq 50); do redis_ok "$redis_url" && return 0; sleep 0.1; done
}

if ! pg_ok "$db_url"; then
  if [ -n "${DATABASE_URL:-}" ]; then say "DATABASE_URL=$DATABASE_URL is not reachable"; exit 1; fi
  start_postgres
  for _ in $(seq 100); do pg_ok "$db_url" && break; pg_ok "$socket_db_url" && { db_url=$socket_db_url; break; }; sleep 0.2; done
  pg_ok "$db_url" || { say "PostgreSQL is still not reachable"; exit 1; }
fi

if ! redis_ok "$redis_url"; then
  if [ -n "${REDIS_URL:-}" ]; then say "REDIS_URL=$REDIS_URL is not reachable"; exit 1; fi
  start_redis
  redis_ok "$redis_url" || { say "Redis is still not reachable"; exit 1; }
fi

if ! command -v chromium >/dev/null 2>&1; then
  say "installing Chromium (Debian package) for the browser tests"
  apt_install chromium || say "Chromium could not be installed; the browser tests will fail"
fi

mkdir -p "$(dirname "$out")"
printf 'TEST_DATABASE_URL=%s\nTEST_REDIS_URL=%s\n' "$db_url" "$redis_url" > "$out"
say "PostgreSQL at $db_url, Redis at $redis_url"
