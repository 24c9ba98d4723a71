#!/usr/bin/env bash
# bench/stores.sh: tessera on SQLite against tessera on PostgreSQL, with the
# project's load tool, interleaved: client credentials (v2, ES256: the
# directory is cached, so this shows what the store costs when it is off the
# hot path) and refresh rotation (every request is a durable write). Prints
# one Markdown table on stdout; progress goes to stderr.
#
#   bench/stores.sh                                      # 32 users, 10 s a run, 2 rounds
#   PGURL=postgres://u@db:5432/x CONCURRENCY=64 bench/stores.sh
#   TESSERA_BEFORE=/tmp/old/tessera bench/stores.sh       # and another build, in the same rounds
#
# PostgreSQL: PGURL (default the local test server, trust auth); the script
# makes a database of its own there and drops it at the end.
set -euo pipefail

. "$(dirname "$0")/lib.sh"
bench_bounded "$@"

CONCURRENCY=${CONCURRENCY:-32}
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
ROUNDS=${ROUNDS:-2}
ALG=${ALG:-ES256}
PGURL=${PGURL:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}

REPO=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/tessera-stores.XXXXXX")
DBNAME=tessera_bench_$$

DB_MADE=
bench_cleanup_extra() {
	if [[ -n $DB_MADE ]]; then
		psql -q "$PGURL" -c "DROP DATABASE IF EXISTS $DBNAME" >/dev/null 2>&1
		psql -q "$PGURL" -c "DROP DATABASE IF EXISTS ${DBNAME}_before" >/dev/null 2>&1
	fi
	return 0
}
if [[ -n ${TESSERA_BEFORE:-} ]]; then
	[[ -x $TESSERA_BEFORE ]] || die "TESSERA_BEFORE=$TESSERA_BEFORE is not an executable"
fi

for tool in go psql curl jq; do command -v "$tool" >/dev/null || die "$tool is required"; done

LOADAVG_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
log "building tessera"
(cd "$REPO" && go build -o "$WORK/tessera" ./cmd/tessera)
TESSERA=$WORK/tessera

psql -q "$PGURL" -c "CREATE DATABASE $DBNAME" >/dev/null || die "cannot create a database at $PGURL"
DB_MADE=1
# The same server, our database: replace the path of the URL.
PGBENCH_URL=$(sed -E "s#^(postgres(ql)?://[^/]*)/[^?]*#\1/$DBNAME#" <<<"$PGURL")
if [[ -n ${TESSERA_BEFORE:-} ]]; then
	psql -q "$PGURL" -c "CREATE DATABASE ${DBNAME}_before" >/dev/null || die "cannot create a second database at $PGURL"
	PGBEFORE_URL=$(sed -E "s#^(postgres(ql)?://[^/]*)/[^?]*#\1/${DBNAME}_before#" <<<"$PGURL")
fi
PGVERSION=$(psql -qAt "$PGURL" -c 'SHOW server_version')

# label → "url|pid|admin id|admin secret"
declare -A SERVER
start() {
	local label=$1 bin=$2 port data=$WORK/$1
	shift 2
	alloc_port port
	mkdir -p "$data"
	env "$@" "$bin" serve --data "$data" --http --addr "127.0.0.1:$port" --public-url "http://127.0.0.1:$port" \
		--signing-alg "$ALG" --log-level warn >"$data/serve.log" 2>&1 &
	local pid=$!
	PIDS+=("$pid")
	for _ in $(seq 1 300); do
		kill -0 "$pid" 2>/dev/null || { tail -20 "$data/serve.log" >&2; die "$label exited"; }
		curl -fsS -o /dev/null "http://127.0.0.1:$port/default/v2.0/.well-known/openid-configuration" 2>/dev/null && break
		sleep 0.2
	done
	local id secret
	# The first start writes its admin client to the data folder, not the log.
	id=$(jq -r '.clientId // empty' "$data/bootstrap-admin.json")
	secret=$(jq -r '.clientSecret // empty' "$data/bootstrap-admin.json")
	[[ -n $id && -n $secret ]] || die "$label wrote no bootstrap client"
	SERVER[$label]="http://127.0.0.1:$port|$pid|$id|$secret"
}

log "starting tessera on SQLite and on PostgreSQL $PGVERSION"
start sqlite "$TESSERA"
start postgres "$TESSERA" TESSERA_DB="$PGBENCH_URL" TESSERA_MASTER_KEY="$(head -c 32 /dev/urandom | base64)"
STORES=(sqlite postgres)
if [[ -n ${TESSERA_BEFORE:-} ]]; then
	log "starting the build before, on SQLite and on PostgreSQL"
	start sqlite-before "$TESSERA_BEFORE"
	start postgres-before "$TESSERA_BEFORE" TESSERA_DB="$PGBEFORE_URL" TESSERA_MASTER_KEY="$(head -c 32 /dev/urandom | base64)"
	STORES=(sqlite sqlite-before postgres postgres-before)
fi

: >"$WORK/results.jsonl"
n=0
for round in $(seq 1 "$ROUNDS"); do
	for scenario in client-credentials refresh; do
		for store in "${STORES[@]}"; do
			n=$((n + 1))
			IFS='|' read -r url pid id secret <<<"${SERVER[$store]}"
			log "round $round: $scenario on $store ($WARMUP warm-up, then $DURATION at $CONCURRENCY concurrent)"
			"$TESSERA" loadtest --scenario "$scenario" --url "$url" --setup --admin-client-id "$id" \
				--admin-client-secret "$secret" --concurrency "$CONCURRENCY" --duration "$DURATION" \
				--warmup "$WARMUP" --server-pid "$pid" -o json >"$WORK/run-$n.json" 2>"$WORK/run-$n.log" ||
				{ tail -5 "$WORK/run-$n.log" >&2; die "$scenario on $store failed"; }
			jq -c --arg store "$store" --arg scenario "$scenario" '. + {store: $store, scenario: $scenario}' \
				"$WORK/run-$n.json" >>"$WORK/results.jsonl"
			jq -r '"           \(.rps|floor)/s, p99 \(.latency_ms.p99) ms, \(.server.cpu_us_per_req|floor) µs CPU each, errors \([.errors[]?]|add // 0)"' \
				"$WORK/run-$n.json" >&2
		done
	done
done

cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
echo "## tessera on SQLite and on PostgreSQL $PGVERSION"
echo
echo "$(nproc) CPUs ($cpu), $(go env GOVERSION), $ALG, $(date -u +%Y-%m-%d). Load average before $LOADAVG_BEFORE, after $(cut -d' ' -f1-3 /proc/loadavg). PostgreSQL on the same machine."
echo "Load: \`tessera loadtest\`, $CONCURRENCY concurrent, $DURATION a run after $WARMUP, $ROUNDS interleaved rounds; the mean of the rounds (each round in brackets)."
echo
jq -rs '
	def r(n): if . == null then "–" else (. * pow(10; n) | round) / pow(10; n) end;
	def mean(f): (map(f) | add / length);
	group_by(.scenario + "/" + .store) | map({
		scenario: .[0].scenario, store: .[0].store,
		rps: mean(.rps), runs: (map(.rps | floor | tostring) | join(" / ")),
		p99: mean(.latency_ms.p99), cpu: mean(.server.cpu_us_per_req), rss: (map(.server.rss_mb) | max),
		errors: (map([.errors[]?] | add // 0) | add)
	}) as $rows
	| ($rows | map({key: (.scenario + "/" + .store), value: .}) | from_entries) as $by
	| ["| scenario | store | requests/s | p99 ms | server CPU µs/request | RSS MB | errors | requests/s vs SQLite (same build) | requests/s vs this build |",
	   "|---|---|--:|--:|--:|--:|--:|--:|--:|"]
	+ [("client-credentials", "refresh") as $s | ("sqlite", "sqlite-before", "postgres", "postgres-before") as $st | $by[$s + "/" + $st] | select(. != null)
		| . as $x | ($x.store | endswith("-before")) as $before
		| $by[$s + "/" + (if $before then "sqlite-before" else "sqlite" end)] as $b
		| $by[$s + "/" + ($x.store | rtrimstr("-before"))] as $now
		| "| \($x.scenario) | \($x.store) | \($x.rps | r(0)) (\($x.runs)) | \($x.p99 | r(1)) | \($x.cpu | r(0)) | \($x.rss | r(0)) | \($x.errors) | \((($x.rps / $b.rps) | r(2) | tostring) + "×") | \((($x.rps / $now.rps) | r(2) | tostring) + "×") |"]
	| .[]' "$WORK/results.jsonl"
echo
echo "Server CPU is the tessera process only; PostgreSQL's own CPU (same machine) is not in it."
