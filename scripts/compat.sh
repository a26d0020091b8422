#!/usr/bin/env bash
# compat.sh runs the sqllogictest corpus against PostgreSQL 15 and against a
# ShardSQL demo, and prints both pass rates and wall times side by side.
#
# Usage: scripts/compat.sh [CORPUS_DIR_OR_FILES...]
#   (default corpus: ../shared/sqllogictest beside the repository, or $SLT_CORPUS)
#
# Environment:
#   PG_BIN           PostgreSQL 15 binaries (default /usr/lib/postgresql/15/bin)
#   COMPAT_TIMEOUT   per-statement timeout for the runner (default 10s)
#   COMPAT_PARALLEL  files at once on PostgreSQL (default 1)
#   COMPAT_FILE_TIMEOUT  seconds one file may run on ShardSQL before the
#                    runner is stopped and its partial counts kept (default
#                    600; 0 = no limit). select5.test's many-table joins
#                    take far longer than that on ShardSQL today.
#   COMPAT_OUT       directory for logs and reports (default: a temp dir, kept)
#
# PostgreSQL runs from a temporary data directory on a spare loopback port,
# as the postgres user when this script runs as root. ShardSQL has no
# CREATE DATABASE or CREATE SCHEMA yet, so each file gets a fresh in-memory
# demo of its own (the runner would otherwise run every file in the same
# database and later files would collide with earlier ones' tables).
# Everything started here is stopped on exit.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
TIMEOUT=${COMPAT_TIMEOUT:-10s}
PARALLEL=${COMPAT_PARALLEL:-1}
FILE_TIMEOUT=${COMPAT_FILE_TIMEOUT:-600}
if [ $# -gt 0 ]; then CORPUS=("$@"); else CORPUS=("${SLT_CORPUS:-$ROOT/../shared/sqllogictest}"); fi
# The runner prints cleaned paths; give it cleaned ones so its lines match.
for i in "${!CORPUS[@]}"; do CORPUS[$i]=$(realpath "${CORPUS[$i]}"); done

WORK=$(mktemp -d /tmp/shardsql-compat.XXXXXX)
OUT=${COMPAT_OUT:-$WORK/out}
mkdir -p "$OUT"
PG_DIR=$(mktemp -d /tmp/shardsql-compat-pg.XXXXXX)
PG_DATA=$PG_DIR/data
PG_STARTED=0
DEMO_PID=

as_pg() {
	if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# stop_demo stops the demo: SIGTERM, then SIGKILL if it has not exited
# within 10 s (a demo busy with a runaway query may not).
stop_demo() {
	[ -n "$DEMO_PID" ] || return 0
	kill "$DEMO_PID" 2>/dev/null || true
	for _ in $(seq 1 100); do
		kill -0 "$DEMO_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -9 "$DEMO_PID" 2>/dev/null || true
	wait "$DEMO_PID" 2>/dev/null || true
	DEMO_PID=
}

cleanup() {
	stop_demo
	if [ "$PG_STARTED" = 1 ]; then as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -m immediate -w stop >/dev/null 2>&1 || true; fi
	rm -rf "$PG_DIR"
	if [ -z "${COMPAT_OUT:-}" ]; then echo "logs and reports kept in $OUT"; fi
}
trap cleanup EXIT

# free_port prints a loopback TCP port nobody listens on.
free_port() {
	local p
	for _ in $(seq 1 100); do
		p=$((20000 + RANDOM % 30000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
	done
	echo "no free port found" >&2
	exit 1
}

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

# totals FILE... sums the runner's "total:" lines: prints run passed failed skipped.
totals() {
	sed -n 's/^total: [0-9]* files, \([0-9]*\) run, \([0-9]*\) passed, \([0-9]*\) failed, \([0-9]*\) skipped.*/\1 \2 \3 \4/p' "$@" |
		awk '{ r += $1; p += $2; f += $3; s += $4 } END { printf "%d %d %d %d\n", r, p, f, s }'
}

echo "building bin/shardsql and bin/sqllogic"
go build -o bin/shardsql ./cmd/shardsql
go build -o bin/sqllogic ./cmd/sqllogic

mapfile -t FILES < <(for c in "${CORPUS[@]}"; do
	if [ -d "$c" ]; then find "$c" -type f -name '*.test' | sort; else echo "$c"; fi
done)
echo "corpus: ${#FILES[@]} files"

# --- PostgreSQL 15 -----------------------------------------------------------
if [ ! -x "$PG_BIN/postgres" ]; then
	echo "PostgreSQL 15 not found in $PG_BIN (apt-get install -y postgresql-15)" >&2
	exit 1
fi
if [ "$(id -u)" = 0 ]; then chown postgres "$PG_DIR"; fi
as_pg "$PG_BIN/initdb" -D "$PG_DATA" -U postgres -A trust --no-sync >"$OUT/pg-initdb.log"
PG_PORT=$(free_port)
as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_DIR/log" -w -t 60 start \
	-o "-p $PG_PORT -k $PG_DIR -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" >/dev/null
PG_STARTED=1
echo "PostgreSQL 15 on 127.0.0.1:$PG_PORT; running the corpus (parallel $PARALLEL)"
t0=$(now)
bin/sqllogic --dsn "postgres://postgres@127.0.0.1:$PG_PORT/postgres?sslmode=disable" \
	--engine-label postgresql --timeout "$TIMEOUT" --parallel "$PARALLEL" \
	--report json --report-file "$OUT/postgresql.json" "${FILES[@]}" >"$OUT/postgresql.txt" 2>&1 || true
PG_WALL=$(elapsed "$t0" "$(now)")
read -r PG_RUN PG_PASS PG_FAIL PG_SKIP < <(totals "$OUT/postgresql.txt")
as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w stop >/dev/null
PG_STARTED=0

# --- ShardSQL demo, one fresh in-memory demo a file -----------------------------
echo "ShardSQL: running the corpus, one fresh demo a file"
: >"$OUT/shardsql.txt"
t0=$(now)
LIMIT=()
if [ "$FILE_TIMEOUT" != 0 ]; then LIMIT=(timeout --signal=TERM --kill-after=30 "$FILE_TIMEOUT"); fi
for f in "${FILES[@]}"; do
	SQL_PORT=$(free_port)
	HTTP_PORT=$(free_port)
	name=$(echo "$f" | tr '/' '_')
	log=$OUT/demo$name.log
	bin/shardsql demo --in-memory --sql-addr "127.0.0.1:$SQL_PORT" --http-addr "127.0.0.1:$HTTP_PORT" >"$log" 2>&1 &
	DEMO_PID=$!
	for _ in $(seq 1 300); do
		if grep -q "ShardSQL demo is ready" "$log"; then break; fi
		if ! kill -0 "$DEMO_PID" 2>/dev/null; then break; fi
		sleep 0.1
	done
	if ! grep -q "ShardSQL demo is ready" "$log"; then
		echo "ShardSQL demo did not start:" >&2
		cat "$log" >&2
		exit 1
	fi
	# The runner stops cleanly on SIGTERM and still prints its counts.
	"${LIMIT[@]}" bin/sqllogic --dsn "postgres://root@127.0.0.1:$SQL_PORT/postgres?sslmode=disable" \
		--engine-label postgresql --timeout "$TIMEOUT" \
		--report json --report-file "$OUT/shardsql$name.json" "$f" >>"$OUT/shardsql.txt" 2>&1 || true
	# (An exited child stays a zombie until waited for, so kill -0 cannot
	# tell; look at its state and its log.)
	state=$(ps -o stat= -p "$DEMO_PID" 2>/dev/null | cut -c1 || true)
	if grep -qE '^(panic|fatal error):' "$log" || [ -z "$state" ] || [ "$state" = Z ]; then
		echo "$f: the ShardSQL demo died during the run (see $log)"
	fi
	stop_demo
	grep "^$f: [0-9]* run" "$OUT/shardsql.txt" | tail -1 || echo "$f: no summary (see $OUT/shardsql.txt)"
	if grep -q "^$f: error: stopped at line" "$OUT/shardsql.txt"; then
		echo "$f: stopped after ${FILE_TIMEOUT}s (COMPAT_FILE_TIMEOUT); counts are partial"
	fi
done
SH_WALL=$(elapsed "$t0" "$(now)")
read -r SH_RUN SH_PASS SH_FAIL SH_SKIP < <(totals "$OUT/shardsql.txt")

# --- Side by side ------------------------------------------------------------------
rate() { awk -v p="$1" -v r="$2" 'BEGIN { if (r > 0) printf "%.2f%%", 100 * p / r; else print "n/a" }'; }
echo
printf '%-12s %10s %10s %10s %10s %10s %10s\n' engine run passed failed skipped "pass rate" "wall (s)"
printf '%-12s %10s %10s %10s %10s %10s %10s\n' postgresql "$PG_RUN" "$PG_PASS" "$PG_FAIL" "$PG_SKIP" "$(rate "$PG_PASS" "$PG_RUN")" "$PG_WALL"
printf '%-12s %10s %10s %10s %10s %10s %10s\n' shardsql "$SH_RUN" "$SH_PASS" "$SH_FAIL" "$SH_SKIP" "$(rate "$SH_PASS" "$SH_RUN")" "$SH_WALL"
echo "(ShardSQL's wall time includes starting a demo for each file.)"
