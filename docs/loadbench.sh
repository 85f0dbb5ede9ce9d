#!/usr/bin/env bash
# Credit-sharing load benchmark: GET /api/v1/credit/{uscc} with a valid key,
# the real handler against a bare gin handler doing the same primary-key
# SELECT, in the same run, with wrk on loopback. See docs/BENCHMARKS.md.
#
#   apt-get install -y wrk        # Debian's package
#   LABORCREDIT_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:55432/laborcredit_test?sslmode=disable \
#     docs/loadbench.sh
#
# Settings (environment):
#   LABORCREDIT_LOADBENCH_EMPLOYERS  employers / published ratings (1000000)
#   LOADBENCH_ROUNDS                 comparison rounds (2); the summary gives
#                                    each round's ratios and their median
#   LOADBENCH_DURATION               wrk -d of a measured run (30s)
#   LOADBENCH_CONNECTIONS            wrk -c (50)
#   LOADBENCH_THREADS                wrk -t (2)
#   LOADBENCH_EXTRA                  1: also measure the bare handler on the
#                                    simple protocol and the real handler
#                                    without access log (1)
#   LOADBENCH_PROFILE                1: finally, a CPU profile of the real
#                                    server under load, top functions (1)
#   LOADBENCH_DIR                    work directory (a new one under /tmp)
#
# A round runs bare and real (odd rounds bare first, even rounds real
# first), then with LOADBENCH_EXTRA bare-simple, real-quiet and bare again
# (drift).
# Each real run is checked against query_log: one row per request answered.
set -euo pipefail
cd "$(dirname "$0")/.."

: "${LABORCREDIT_TEST_DATABASE_URL:?set LABORCREDIT_TEST_DATABASE_URL to a PostgreSQL URL}"
export LABORCREDIT_TEST_DATABASE_URL
N=${LABORCREDIT_LOADBENCH_EMPLOYERS:-1000000}
ROUNDS=${LOADBENCH_ROUNDS:-2}
DUR=${LOADBENCH_DURATION:-30s}
CONNS=${LOADBENCH_CONNECTIONS:-50}
THREADS=${LOADBENCH_THREADS:-2}
EXTRA=${LOADBENCH_EXTRA:-1}
PROFILE=${LOADBENCH_PROFILE:-1}
WORK=${LOADBENCH_DIR:-$(mktemp -d /tmp/loadbench.XXXXXX)}
mkdir -p "$WORK"
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install -y wrk)" >&2; exit 1; }
command -v psql >/dev/null || { echo "psql is not installed" >&2; exit 1; }

echo "== work directory $WORK; $(nproc) cores; $(wrk --version 2>&1 | head -1)"
go test -c -o "$WORK/api.test" ./api

echo "== loading $N employers and published ratings (server log: $WORK/server.log)"
rm -f "$WORK/ready.env"
t0=$(date +%s)
LABORCREDIT_LOADBENCH=1 LABORCREDIT_LOADBENCH_EMPLOYERS=$N LABORCREDIT_LOADBENCH_DIR=$WORK \
  LABORCREDIT_LOADBENCH_SECONDS=${LABORCREDIT_LOADBENCH_SECONDS:-7200} \
  "$WORK/api.test" -test.run '^TestLoadBenchServe$' -test.v -test.timeout 0 >"$WORK/server.log" 2>&1 &
SERVER=$!
stop_server() {
  if kill -0 "$SERVER" 2>/dev/null; then
    kill -TERM "$SERVER"
    wait "$SERVER" || true
  fi
}
trap stop_server EXIT
while [ ! -f "$WORK/ready.env" ]; do
  if ! kill -0 "$SERVER" 2>/dev/null; then
    echo "the server ended before it was ready:" >&2
    tail -40 "$WORK/server.log" >&2
    exit 1
  fi
  sleep 1
done
# shellcheck disable=SC1091
. "$WORK/ready.env"
grep -E 'COPY|loaded' "$WORK/server.log" | sed 's/^ *//'
echo "   ready after $(($(date +%s) - t0)) s (load and VACUUM ANALYZE: $LOAD_SECONDS s); mean credit document $DOC_BYTES bytes"

qcount() { psql -X -A -t -q -d "$DB_URL" -c "SELECT count(*) FROM query_log"; }
DBNAME=${DB_URL##*/}
DBNAME=${DBNAME%%\?*}
HZ=$(getconf CLK_TCK)
# CPU ticks: of the server process, of the PostgreSQL backends serving its
# database, and of the whole machine (busy, all).
server_ticks() { awk '{print $14 + $15}' "/proc/$SERVER/stat"; }
pg_ticks() { # "pid ticks" lines
  local p
  for p in $(pgrep -f "^postgres: .* $DBNAME " || true); do
    awk -v p="$p" '{print p, $14 + $15}' "/proc/$p/stat" 2>/dev/null || true
  done
}
# pg_delta BEFORE AFTER: ticks of the backends between two pg_ticks (a
# backend that ended in between is left out, a new one counts in full).
pg_delta() { awk 'NR == FNR { b[$1] = $2; next } { t += $2 - b[$1] } END { print t + 0 }' <(echo "$1") <(echo "$2"); }
# hist URL: the credit route's latency histogram of a real server, "le count" lines.
hist() { curl -s -H "Authorization: Bearer loadbench" "$1/metrics" | awk -F'[{}]' '/^laborcredit_http_request_duration_seconds_bucket/ && /credit\/:uscc/ {
  match($2, /le="[^"]*"/); le = substr($2, RSTART + 4, RLENGTH - 5); print le, $3 }'; }
# handler_p99 BEFORE AFTER: the bucket holding the 99th percentile of the
# requests between two snapshots (the handler's own time, as the server
# measures it: no socket, no scheduling of wrk).
handler_p99() { awk 'NR == FNR { b[$1] = $2; next } { d[++n] = $1; c[n] = $2 - b[$1] } END {
  for (i = 1; i <= n; i++) if (c[i] >= 0.99 * c[n]) { printf "<=%gms", d[i] * 1000; exit } }' "$1" "$2"; }
machine_ticks() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9}' /proc/stat; }

# run NAME URL ROUND: one measured wrk run; appends a line to results.tsv.
run() {
  local name=$1 url=$2 round=$3 out="$WORK/wrk-$round-$1.txt" before=0
  local hp99="-"
  if [[ $name == real* ]]; then before=$(qcount); hist "$url" >"$out.hist0"; fi
  local s0 p0 m0 s1 p1 m1 wrkcpu pg
  s0=$(server_ticks); p0=$(pg_ticks); m0=$(machine_ticks)
  { TIMEFORMAT='%U %S'; time wrk -t"$THREADS" -c"$CONNS" -d"$DUR" --latency -s "$LUA" -H "Authorization: Bearer $KEY" "$url" >"$out"; } 2>"$out.cpu"
  s1=$(server_ticks); p1=$(pg_ticks); m1=$(machine_ticks)
  wrkcpu=$(awk '{print $1 + $2}' "$out.cpu")
  pg=$(pg_delta "$p0" "$p1")
  local rps p99 reqs bad logged="-" cpu
  rps=$(awk '/^Requests\/sec:/ {print $2}' "$out")
  p99=$(awk '$1 == "99%" {print $2}' "$out")
  reqs=$(awk '/requests in/ {print $1}' "$out")
  bad=$(awk -F: '/Non-2xx/ {gsub(/ /, "", $2); print $2}' "$out")
  bad=${bad:-0}
  if grep -q 'Socket errors' "$out"; then bad="$bad; $(grep 'Socket errors' "$out" | sed 's/^ *//')"; fi
  if [[ $name == real* ]]; then
    sleep 1 # the query log writes every 200 ms
    logged=$(($(qcount) - before))
    hist "$url" >"$out.hist1"
    hp99=$(handler_p99 "$out.hist0" "$out.hist1")
  fi
  # Server CPU per request, and where the machine's CPU went during the run
  # (in cores): server, its PostgreSQL backends, wrk, everything else, idle.
  cpu=$(awk -v t=$((s1 - s0)) -v hz="$HZ" -v n="$reqs" 'BEGIN {printf "%.1f", t / hz / n * 1e6}')
  local split
  split=$(awk -v s=$((s1 - s0)) -v p="$pg" -v w="$wrkcpu" -v hz="$HZ" -v n="$(nproc)" -v m0="$m0" -v m1="$m1" 'BEGIN {
    split(m0, a, " "); split(m1, b, " ")
    busy = (b[1] - a[1]) / hz; all = (b[2] - a[2]) / hz; secs = all / n # CPU seconds, and wall seconds
    other = busy - s / hz - p / hz - w
    printf "server %.2f pg %.2f wrk %.2f other %.2f idle %.2f", s / hz / secs, p / hz / secs, w / secs, (other < 0 ? 0 : other) / secs, (all - busy) / secs
  }')
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$name" "$rps" "$p99" "$reqs" "$logged" "$bad" "$cpu" "$split" "$hp99" >>"$WORK/results.tsv"
  printf '   %-11s %9s req/s  p99 %-9s %7s requests  query_log +%-7s non-2xx %s  handler p99 %-8s  server %s µs CPU/req  cores: %s\n' \
    "$name" "$rps" "$p99" "$reqs" "$logged" "$bad" "$hp99" "$cpu" "$split"
}

warm() { wrk -t"$THREADS" -c"$CONNS" -d5s -s "$LUA" -H "Authorization: Bearer $KEY" "$1" >/dev/null; }

echo "== warm-up (5 s each)"
warm "$BARE_URL"
warm "$REAL_URL"
[ "$EXTRA" = 1 ] && { warm "$BARE_SIMPLE_URL"; warm "$REAL_QUIET_URL"; }

: >"$WORK/results.tsv"
for round in $(seq 1 "$ROUNDS"); do
  echo "== round $round: wrk -t$THREADS -c$CONNS -d$DUR --latency (load average $(cut -d' ' -f1-3 /proc/loadavg))"
  # Alternate which goes first, so that drift during a round favours
  # neither side.
  if ((round % 2)); then
    run bare "$BARE_URL" "$round"
    run real "$REAL_URL" "$round"
  else
    run real "$REAL_URL" "$round"
    run bare "$BARE_URL" "$round"
  fi
  if [ "$EXTRA" = 1 ]; then
    run bare-simple "$BARE_SIMPLE_URL" "$round"
    run real-quiet "$REAL_QUIET_URL" "$round"
    run bare-again "$BARE_URL" "$round"
  fi
done

# ms converts wrk's latency (us, ms or s) to milliseconds.
echo "== summary (targets: real ≥ 60% of bare req/s, real p99 ≤ 1.5 × bare p99)"
awk -F'\t' '
function isort(a, n,   i, j, t) { for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t } }
function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
{ rps[$1, $2] = $3; p99[$1, $2] = ms($4); reqs[$1, $2] = $5; logged[$1, $2] = $6; if ($1 > rounds) rounds = $1 }
END {
  for (r = 1; r <= rounds; r++) {
    n = split("bare bare-simple", bases, " ")
    for (b = 1; b <= n; b++) {
      base = bases[b]
      if (!((r, base) in rps)) continue
      m = split("real real-quiet", reals, " ")
      for (k = 1; k <= m; k++) {
        x = reals[k]
        if (!((r, x) in rps)) continue
        rr = rps[r, x] / rps[r, base]; pr = p99[r, x] / p99[r, base]
        if (x == "real" && base == "bare") { nr++; rrs[nr] = rr; prs[nr] = pr }
        printf "   round %d  %-10s / %-11s  req/s %6.1f%%  p99 %.2f×  %s\n", r, x, base, 100 * rr, pr,
          (rr >= 0.6 && pr <= 1.5) ? "meets both" : ((rr >= 0.6 ? "" : "req/s MISSED ") (pr <= 1.5 ? "" : "p99 MISSED"))
      }
    }
    for (k = 1; k <= 2; k++) {
      x = (k == 1) ? "real" : "real-quiet"
      if ((r, x) in rps) printf "   round %d  %-10s query_log rows %d for %d requests answered (+%d in flight at the end)\n", r, x, logged[r, x], reqs[r, x], logged[r, x] - reqs[r, x]
    }
    if ((r, "bare-again") in rps) printf "   round %d  bare drift: %s → %s req/s, p99 %.2f → %.2f ms\n", r, rps[r, "bare"], rps[r, "bare-again"], p99[r, "bare"], p99[r, "bare-again"]
  }
  if (nr > 0) {
    isort(rrs, nr); isort(prs, nr)
    med_r = (nr % 2) ? rrs[(nr + 1) / 2] : (rrs[nr / 2] + rrs[nr / 2 + 1]) / 2
    med_p = (nr % 2) ? prs[(nr + 1) / 2] : (prs[nr / 2] + prs[nr / 2 + 1]) / 2
    printf "   median of %d rounds, real / bare:  req/s %.1f%%  p99 %.2f×  %s\n", nr, 100 * med_r, med_p,
      (med_r >= 0.6 && med_p <= 1.5) ? "meets both" : "MISSED"
  }
}' "$WORK/results.tsv"

if [ "$PROFILE" = 1 ]; then
  echo "== CPU profile of the test process while wrk loads the real handler (20 s)"
  wrk -t"$THREADS" -c"$CONNS" -d25s -s "$LUA" -H "Authorization: Bearer $KEY" "$REAL_URL" >"$WORK/wrk-profile.txt" &
  WRK=$!
  sleep 2
  curl -s -o "$WORK/real.cpu.pprof" "$PPROF_URL/profile?seconds=20"
  wait "$WRK"
  go tool pprof -top -nodecount=25 "$WORK/api.test" "$WORK/real.cpu.pprof" 2>/dev/null | sed 's/^/   /'
  echo "   cumulative, by package/function of interest:"
  go tool pprof -top -cum -nodecount=60 "$WORK/api.test" "$WORK/real.cpu.pprof" 2>/dev/null |
    grep -E 'laborcredit|bun\.|pq\.|slog|prometheus|gin\.|syscall|runtime\.(gcBgMarkWorker|mallocgc)$' | head -30 | sed 's/^/   /'
fi

stop_server
trap - EXIT
grep -E 'query_log holds|LOADBENCH query log error|FAIL|PASS' "$WORK/server.log" | sed 's/^ */   /' || true
echo "== wrk outputs, server log, access log and profile in $WORK"
