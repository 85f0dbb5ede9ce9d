#!/usr/bin/env bash
# Soak run (issue 10): mixed traffic — public search, credit single and
# batch, officer transitions, imports over HTTP — against the real server on
# PostgreSQL with 1,000,000 published employers, for 10 minutes, loopback
# only, bounded in time and requests. See docs/BENCHMARKS.md.
#
#   LABORCREDIT_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:55432/laborcredit_test?sslmode=disable \
#     docs/soak.sh
#
# Settings (environment): LABORCREDIT_SOAK_EMPLOYERS (1000000),
# LABORCREDIT_SOAK_SECONDS (600), LABORCREDIT_SOAK_MAX_REQUESTS (5000000),
# LABORCREDIT_SOAK_REPORT (a file for the interval table; default
# soak-report.txt in the work directory).
set -euo pipefail
cd "$(dirname "$0")/.."
: "${LABORCREDIT_TEST_DATABASE_URL:?set LABORCREDIT_TEST_DATABASE_URL to a PostgreSQL URL}"
WORK=${SOAK_DIR:-$(mktemp -d /tmp/soak.XXXXXX)}
export LABORCREDIT_SOAK=1
export LABORCREDIT_SOAK_REPORT=${LABORCREDIT_SOAK_REPORT:-$WORK/soak-report.txt}
echo "== $(nproc) cores; work directory $WORK"
go test -c -o "$WORK/api.test" ./api
"$WORK/api.test" -test.run '^TestSoak$' -test.v -test.timeout 0 2>&1 | tee "$WORK/soak.log"
echo "== report: $LABORCREDIT_SOAK_REPORT"
