#!/usr/bin/env bash
# `make serve`: the app under gunicorn on PostgreSQL (docs/deploy.md).
#
#   scripts/serve.sh          serve; uses VOTING_DATABASE_URL when set, otherwise starts (or reuses)
#                             a local PostgreSQL cluster in instance/pg
#   scripts/serve.sh stop     stop gunicorn (if started here) and that local cluster
#   scripts/serve.sh status   say what runs
#
# Environment: WORKERS (2), HOST (127.0.0.1), PORT (8000), VOTING_PG_PORT (55440),
# VOTING_PG_DATABASE (voting), PGBIN (the newest /usr/lib/postgresql/*/bin), VOTING_INSTANCE_PATH.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BIN="$ROOT/.venv/bin"
INSTANCE=${VOTING_INSTANCE_PATH:-$ROOT/instance}
PGDIR="$INSTANCE/pg"               # the cluster's data directory, also holding its unix socket
PGPASSFILE_LOCAL="$INSTANCE/pg-password"   # the postgres role's password, for TCP on 127.0.0.1
PIDFILE="$INSTANCE/gunicorn.pid"
PG_PORT=${VOTING_PG_PORT:-55440}
PG_DB=${VOTING_PG_DATABASE:-voting}
WORKERS=${WORKERS:-2}
HOST=${HOST:-127.0.0.1}
PORT=${PORT:-8000}

say() { printf '== %s\n' "$*"; }
die() { printf 'serve: %s\n' "$*" >&2; exit 1; }

find_pgbin() {
  if [ -n "${PGBIN:-}" ]; then echo "$PGBIN"; return; fi
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -n "$dir" ]; then echo "$dir"; return; fi
  command -v pg_ctl >/dev/null 2>&1 && { dirname "$(command -v pg_ctl)"; return; }
  die "no PostgreSQL server binaries found (apt-get install postgresql, or set PGBIN, or set VOTING_DATABASE_URL)"
}

# Run a PostgreSQL server program as the cluster's owner: `postgres` when we are root (the server
# refuses to run as root), else ourselves.
as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

cluster_running() { [ -f "$PGDIR/PG_VERSION" ] && as_owner "$PGBIN/pg_ctl" -D "$PGDIR" status >/dev/null 2>&1; }

# The port of the running cluster (line 4 of postmaster.pid), else the configured one.
cluster_port() {
  if [ -r "$PGDIR/postmaster.pid" ]; then sed -n 4p "$PGDIR/postmaster.pid"; else echo "$PG_PORT"; fi
}

init_cluster() {
  say "creating a PostgreSQL cluster in $PGDIR"
  mkdir -p "$INSTANCE"
  mkdir -m 700 "$PGDIR"
  [ -f "$PGPASSFILE_LOCAL" ] || (umask 077; "$BIN/python" -c 'import secrets; print(secrets.token_urlsafe(24))' >"$PGPASSFILE_LOCAL")
  local pwfile
  pwfile=$(mktemp)
  cp "$PGPASSFILE_LOCAL" "$pwfile"
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || die "running as root needs the 'postgres' user to own the cluster (apt-get install postgresql)"
    chown postgres "$PGDIR" "$pwfile"
    runuser -u postgres -- test -x "$INSTANCE" \
      || die "the postgres user cannot reach $INSTANCE; make its parent folders traversable (chmod o+x) or set VOTING_DATABASE_URL"
  fi
  # Unix socket: trust (the folder is 0700, so only the owner and root reach it); TCP: password.
  if ! as_owner "$PGBIN/initdb" -D "$PGDIR" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
        --pwfile="$pwfile" -E UTF8 --no-locale >"$INSTANCE/pg-initdb.log" 2>&1; then
    rm -f "$pwfile"
    cat "$INSTANCE/pg-initdb.log" >&2
    die "initdb failed (log above)"
  fi
  rm -f "$pwfile"
}

start_cluster() {
  PGBIN=$(find_pgbin)
  [ -f "$PGDIR/PG_VERSION" ] || init_cluster
  if cluster_running; then
    PG_PORT=$(cluster_port)
    say "reusing the PostgreSQL cluster in $PGDIR (port $PG_PORT)"
  else
    say "starting PostgreSQL on 127.0.0.1:$PG_PORT and $PGDIR/.s.PGSQL.$PG_PORT"
    as_owner "$PGBIN/pg_ctl" -D "$PGDIR" -l "$PGDIR/server.log" -w -t 60 \
      -o "-p $PG_PORT -k '$PGDIR' -c listen_addresses=127.0.0.1" start >/dev/null \
      || { tail -n 20 "$PGDIR/server.log" >&2 || true; die "PostgreSQL did not start (is port $PG_PORT taken? set VOTING_PG_PORT)"; }
  fi
  local exists
  exists=$("$PGBIN/psql" -h "$PGDIR" -p "$PG_PORT" -U postgres -d postgres -XtAq \
           -c "SELECT 1 FROM pg_database WHERE datname = '$PG_DB'")
  if [ "$exists" != 1 ]; then
    say "creating database $PG_DB"
    "$PGBIN/psql" -h "$PGDIR" -p "$PG_PORT" -U postgres -d postgres -Xq -c "CREATE DATABASE \"$PG_DB\""
  fi
  # TCP with the generated password (URL-safe characters only): a socket path in the URL would be
  # percent-encoded, and `voting db upgrade` hands the URL to Alembic's config parser, which
  # takes % for interpolation.
  export VOTING_DATABASE_URL="postgresql+psycopg://postgres:$(cat "$PGPASSFILE_LOCAL")@127.0.0.1:$PG_PORT/$PG_DB"
  LOCAL_URL_HINT="postgresql+psycopg://postgres:\$(cat $PGPASSFILE_LOCAL)@127.0.0.1:$PG_PORT/$PG_DB"
}

stop_all() {
  if [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
    say "stopping gunicorn (pid $(cat "$PIDFILE"))"
    kill -TERM "$(cat "$PIDFILE")"
    for _ in $(seq 1 60); do kill -0 "$(cat "$PIDFILE" 2>/dev/null || echo 0)" 2>/dev/null || break; sleep 0.5; done
  fi
  if [ -f "$PGDIR/PG_VERSION" ]; then
    PGBIN=$(find_pgbin)
    if cluster_running; then
      say "stopping PostgreSQL in $PGDIR"
      as_owner "$PGBIN/pg_ctl" -D "$PGDIR" -m fast -w stop >/dev/null
    fi
  fi
  say "stopped"
}

status() {
  if [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
    echo "gunicorn: running (pid $(cat "$PIDFILE"))"
  else
    echo "gunicorn: not running"
  fi
  if [ -f "$PGDIR/PG_VERSION" ]; then
    PGBIN=$(find_pgbin)
    if cluster_running; then echo "PostgreSQL: running in $PGDIR (port $(cluster_port))"; else echo "PostgreSQL: stopped ($PGDIR)"; fi
  else
    echo "PostgreSQL: no local cluster (VOTING_DATABASE_URL decides)"
  fi
}

case "${1:-serve}" in
  stop) stop_all; exit 0 ;;
  status) status; exit 0 ;;
  serve) ;;
  *) die "usage: scripts/serve.sh [serve|stop|status]" ;;
esac

[ -x "$BIN/gunicorn" ] || die "$BIN/gunicorn is missing: run 'make serve' (it installs the app) or pip install -e ."
LOCAL_URL_HINT='$VOTING_DATABASE_URL'
if [ -n "${VOTING_DATABASE_URL:-}" ]; then
  say "using VOTING_DATABASE_URL"
else
  start_cluster
fi

"$BIN/voting" init
"$BIN/voting" demo --if-empty

url="http://$HOST:$PORT"
cat <<EOF

Serving $url/ with gunicorn ($WORKERS workers x 4 threads) on
  $("$BIN/python" -c 'import sys; from sqlalchemy.engine import make_url; print(make_url(sys.argv[1]).render_as_string(hide_password=True))' "$VOTING_DATABASE_URL")
Staff sign in at $url/login as secretariat, chair, secretary-general or observer, with the one-time
passwords printed above when the demo was loaded. Lost them? Run:
  VOTING_DATABASE_URL="$LOCAL_URL_HINT" $BIN/voting staff reset-password secretariat
Stop with Ctrl-C; 'make serve-stop' (scripts/serve.sh stop) also stops the local PostgreSQL.
Behind a TLS proxy set VOTING_TRUST_PROXY_HOPS=1 and VOTING_PUBLIC_BASE_URL (docs/deploy.md).

EOF
exec "$BIN/gunicorn" -w "$WORKERS" --threads 4 -b "$HOST:$PORT" --access-logfile - --pid "$PIDFILE" wsgi:app
