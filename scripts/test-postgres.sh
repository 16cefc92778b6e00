#!/usr/bin/env bash
# A throwaway PostgreSQL server for the tests (started by .ci/run and `npm run test:postgres`): a new cluster in a
# temporary folder ($PGTEST_DIR), on 127.0.0.1 only (port $PGPORT, or a free one), trust authentication, fsync off
# (nothing in it outlives the run). Prints the URL of its `cms` database, on which the tests create their own;
# `scripts/test-postgres.sh stop` stops it and removes the folder. Run again while it runs, it prints the URL again.
set -euo pipefail
DIR=${PGTEST_DIR:-/tmp/cms-test-postgres}
BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
BIN=${PGBIN:-${BIN:-$(dirname "$(command -v pg_ctl)")}}
# the server refuses to run as root: it runs as the postgres user then
as_owner () { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
if [ "${1:-}" = stop ]; then
  [ -d "$DIR" ] && as_owner "$BIN/pg_ctl" -D "$DIR" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$DIR"
  exit 0
fi
if as_owner "$BIN/pg_ctl" -D "$DIR" status >/dev/null 2>&1; then
  PORT=$(sed -n 4p "$DIR/postmaster.pid")
else
  PORT=${PGPORT:-$(node -e "const s = require('net').createServer().listen(0, '127.0.0.1', () => { console.log(s.address().port); s.close() })")}
  rm -rf "$DIR"
  mkdir -p "$DIR"
  if [ "$(id -u)" = 0 ]; then chown postgres "$DIR"; fi
  as_owner "$BIN/initdb" -D "$DIR" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >/dev/null
  as_owner "$BIN/pg_ctl" -D "$DIR" -l "$DIR/server.log" -w \
    -o "-c listen_addresses=127.0.0.1 -p $PORT -c unix_socket_directories=$DIR -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" start >/dev/null
  "$BIN/psql" -h 127.0.0.1 -p "$PORT" -U postgres -qc 'create database cms' >/dev/null
fi
echo "postgres://postgres@127.0.0.1:$PORT/cms"
