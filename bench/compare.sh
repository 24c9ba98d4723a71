#!/usr/bin/env bash
# bench/compare.sh: client-credentials tokens per second, latency and server
# CPU of tessera against Ory Hydra v2.3.0 and node oidc-provider, on this
# machine, with the same load tool, interleaved. Prints one Markdown table on
# stdout; progress goes to stderr. See bench/README.md.
#
#   bench/compare.sh                      # 32 users, 10 s a run, 2 rounds
#   CONCURRENCY=64 DURATION=20s ROUNDS=3 bench/compare.sh > result.md
#   TESSERA_BEFORE=/tmp/old/tessera PEERS=oidc-provider bench/compare.sh
#
# TESSERA_BEFORE adds rows for another tessera build (an earlier commit),
# run in the same rounds, so that a change is measured before and after in
# one run. PEERS names the other servers to run (default "hydra
# oidc-provider"; "" for none).
set -euo pipefail

# The whole run is bounded: the script re-runs itself under timeout, which
# signals the script and every server in its process group.
. "$(dirname "$0")/lib.sh"
bench_bounded "$@"

CONCURRENCY=${CONCURRENCY:-32}
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
ROUNDS=${ROUNDS:-2}
PEERS=${PEERS-hydra oidc-provider}
peer() { [[ " $PEERS " == *" $1 "* ]]; }
HYDRA_VERSION=v2.3.0
HYDRA_CLIENT_GO=v2.2.1 # the version hydra's go.mod requires and replaces with a folder the module zip lacks

BENCH=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$BENCH/.." && pwd)
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/tessera-bench
WORK=$(mktemp -d "${TMPDIR:-/tmp}/tessera-bench.XXXXXX")
mkdir -p "$CACHE"

for tool in go node npm curl jq openssl; do
	command -v "$tool" >/dev/null || die "$tool is required"
done

# wait_ready URL PID LOG: until URL answers 2xx, the process dies, or 60 s.
wait_ready() {
	local url=$1 pid=$2 logf=$3
	for _ in $(seq 1 300); do
		kill -0 "$pid" 2>/dev/null || { tail -20 "$logf" >&2; die "server for $url exited"; }
		curl -fsS -o /dev/null "$url" 2>/dev/null && return 0
		sleep 0.2
	done
	tail -20 "$logf" >&2
	die "$url did not become ready"
}

# jwt_header TOKEN: the decoded JOSE header, to check what a server signs with.
jwt_header() {
	local h=${1%%.*}
	h=$(printf '%s' "$h" | tr '_-' '/+')
	while ((${#h} % 4)); do h+='='; done
	printf '%s' "$h" | base64 -d
}

# ---------------------------------------------------------------- builds

LOADAVG_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
log "building tessera"
(cd "$REPO" && go build -o "$WORK/tessera" ./cmd/tessera)
TESSERA=$WORK/tessera
# LOADTEST replaces the load tool (a command taking `tessera loadtest`'s flags).
read -r -a LOADTEST <<<"${LOADTEST:-$TESSERA loadtest}"
"${LOADTEST[@]}" --help >/dev/null 2>&1 || die "no load tool: '${LOADTEST[*]} --help' fails"

if [[ -n ${TESSERA_BEFORE:-} ]]; then
	[[ -x $TESSERA_BEFORE ]] || die "TESSERA_BEFORE=$TESSERA_BEFORE is not an executable"
fi

GOVER=$(go env GOVERSION)
HYDRA=$CACHE/hydra-$HYDRA_VERSION-$GOVER
if peer hydra && [[ ! -x $HYDRA ]]; then
	log "building Ory Hydra $HYDRA_VERSION from the Go module proxy (once; cached in $HYDRA)"
	# `go install …@v2.3.0` refuses a module whose go.mod has replace
	# directives. Build the module's own source instead: its replace of
	# hydra-client-go points at ./internal/httpclient, a nested module the
	# module zip leaves out, so drop it and use the published v2.2.1; the
	# other replace (pop → ory/pop) resolves from the proxy as it is.
	dir=$(cd "$WORK" && GOTOOLCHAIN=local go mod download -json "github.com/ory/hydra/v2@$HYDRA_VERSION" | jq -r .Dir)
	[[ -d $dir ]] || die "go mod download gave no source folder for hydra"
	src=$WORK/hydra-src
	cp -r "$dir" "$src"
	chmod -R u+w "$src"
	(
		cd "$src"
		export GOTOOLCHAIN=local
		go mod edit -dropreplace github.com/ory/hydra-client-go/v2 \
			-require "github.com/ory/hydra-client-go/v2@$HYDRA_CLIENT_GO"
		# go.sum has no line for the published client: the replace hid it.
		go mod download github.com/ory/hydra-client-go/v2
		# The sqlite tag builds in mattn/go-sqlite3 (cgo; needs a C compiler).
		go build -tags sqlite,sqlite_omit_load_extension -o "$HYDRA.tmp" .
	) >&2
	mv "$HYDRA.tmp" "$HYDRA"
	rm -rf "$src"
fi

OIDC_PROVIDER_VERSION=–
if peer oidc-provider; then
	log "installing oidc-provider (npm ci)"
	(cd "$BENCH/oidc-provider" && npm ci --no-audit --no-fund --loglevel=error >&2)
	OIDC_PROVIDER_VERSION=$(jq -r '.packages["node_modules/oidc-provider"].version' "$BENCH/oidc-provider/package-lock.json")
fi

# ---------------------------------------------------------------- ceilings

log "measuring tessera's signing ceilings (go test -bench Mint)"
(cd "$REPO" && go test ./internal/token -run '^$' -bench Mint -benchtime 2s) >"$WORK/gobench.txt" 2>&1 ||
	{ cat "$WORK/gobench.txt" >&2; die "go test -bench failed"; }

# ---------------------------------------------------------------- servers

# Every target is a line: label|alg|token URL|client id|secret|scope|pid|ca file
TARGETS=()
add_target() { TARGETS+=("$1|$2|$3|$4|$5|$6|$7|${8:-}"); }

# tessera over plain HTTP, as the peers are served, and over its default
# HTTPS (local CA) as an extra row. Apps are made with `tessera admin` on the
# data folder, as README's first-token example does.
start_tessera() {
	local name=$1 alg=$2 tls=$3 bin=${4:-$TESSERA} port data=$WORK/${1//[^A-Za-z0-9]/_} scheme=http
	alloc_port port
	mkdir -p "$data"
	local args=(serve --data "$data" --addr "127.0.0.1:$port" --signing-alg "$alg" --log-level warn)
	if [[ $tls == tls ]]; then
		scheme=https
	else
		args+=(--http --public-url "http://127.0.0.1:$port")
	fi
	"$bin" "${args[@]}" >"$data/serve.log" 2>&1 &
	local pid=$!
	PIDS+=("$pid")
	local ca=
	[[ $tls == tls ]] && ca=$data/ca.pem
	for _ in $(seq 1 150); do [[ -z $ca || -s $ca ]] && break; sleep 0.2; done
	CURL_CA_BUNDLE=${ca:-} wait_ready "$scheme://127.0.0.1:$port/default/v2.0/.well-known/openid-configuration" "$pid" "$data/serve.log"
	local admin=("$bin" admin --data "$data")
	local api client secret
	api=$("${admin[@]}" app create --display-name "Bench API" --app-role Reader --query appId -o tsv)
	"${admin[@]}" sp create --id "$api" -o none
	client=$("${admin[@]}" app create --display-name "Bench client" --query appId -o tsv)
	"${admin[@]}" sp create --id "$client" -o none
	secret=$("${admin[@]}" secret add --id "$client" --query secretText -o tsv)
	"${admin[@]}" role assign --assignee "$client" --resource "$api" --role Reader -o none
	add_target "$name" "$alg" "$scheme://127.0.0.1:$port/default/oauth2/v2.0/token" "$client" "$secret" "api://$api/.default" "$pid" "$ca"
}

# Hydra: one instance per configuration, each with its own SQLite file.
#   keys: default (Hydra generates RSA-4096 at start), rsa2048 (imported),
#         es256 (created by Hydra, P-256)
#   iterations: "" for Hydra's default PBKDF2 (25,000), or a number
#   strategy: jwt or opaque
HYDRA_SECRET=bench-secret-0123456789abcdefghijklmnop
start_hydra() {
	local name=$1 keys=$2 iterations=$3 strategy=$4 data=$WORK/${1//[^A-Za-z0-9]/_} pub adm
	alloc_port pub
	alloc_port adm
	mkdir -p "$data"
	(
		export DSN="sqlite://$data/hydra.sqlite?_fk=true&mode=rwc"
		export SERVE_PUBLIC_PORT=$pub SERVE_ADMIN_PORT=$adm URLS_SELF_ISSUER=http://127.0.0.1:$pub
		export STRATEGIES_ACCESS_TOKEN=$strategy SQA_OPT_OUT=true
		[[ -n $iterations ]] && export OAUTH2_HASHERS_PBKDF2_ITERATIONS=$iterations
		cd "$data"
		"$HYDRA" migrate sql -e --yes -c "$BENCH/hydra/hydra.yml" >migrate.log 2>&1
		exec "$HYDRA" serve all --dev --sqa-opt-out -c "$BENCH/hydra/hydra.yml" >serve.log 2>&1
	) &
	local pid=$!
	PIDS+=("$pid")
	wait_ready "http://127.0.0.1:$adm/health/ready" "$pid" "$data/serve.log"
	local e=(-e "http://127.0.0.1:$adm")
	case $keys in
	default) ;;
	rsa2048)
		# Hydra generates RSA keys at 4096 bits only; import a 2048-bit one.
		openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$data/rsa2048.pem" 2>/dev/null
		"$HYDRA" delete jwks hydra.jwt.access-token "${e[@]}" >/dev/null
		"$HYDRA" import jwk hydra.jwt.access-token "$data/rsa2048.pem" --alg RS256 --use sig "${e[@]}" >/dev/null
		;;
	es256)
		"$HYDRA" delete jwks hydra.jwt.access-token "${e[@]}" >/dev/null
		"$HYDRA" create jwks hydra.jwt.access-token --alg ES256 --use sig "${e[@]}" >/dev/null
		;;
	esac
	local client
	client=$("$HYDRA" create client "${e[@]}" --grant-type client_credentials \
		--token-endpoint-auth-method client_secret_post --scope api.read --audience api://bench \
		--name bench --secret "$HYDRA_SECRET" --format json | jq -r .client_id)
	local alg=RS256
	[[ $keys == es256 ]] && alg=ES256
	[[ $strategy == opaque ]] && alg=opaque
	add_target "$name" "$alg" "http://127.0.0.1:$pub/oauth2/token" "$client" "$HYDRA_SECRET" api.read "$pid"
}

OP_SECRET=bench-secret-0123456789abcdefghijklmnop
start_oidc_provider() {
	local name=$1 alg=$2 port data=$WORK/${1//[^A-Za-z0-9]/_}
	alloc_port port
	mkdir -p "$data"
	PORT=$port ALG=$alg CLIENT_ID=bench CLIENT_SECRET=$OP_SECRET \
		node "$BENCH/oidc-provider/server.js" >"$data/serve.log" 2>&1 &
	local pid=$!
	PIDS+=("$pid")
	wait_ready "http://127.0.0.1:$port/.well-known/openid-configuration" "$pid" "$data/serve.log"
	add_target "$name" "$alg" "http://127.0.0.1:$port/token" bench "$OP_SECRET" api.read "$pid"
}

log "starting the servers"
start_tessera "tessera RS256" RS256 http
start_tessera "tessera ES256" ES256 http
start_tessera "tessera RS256 over HTTPS" RS256 tls
if [[ -n ${TESSERA_BEFORE:-} ]]; then
	start_tessera "tessera before RS256" RS256 http "$TESSERA_BEFORE"
	start_tessera "tessera before ES256" ES256 http "$TESSERA_BEFORE"
fi
if peer hydra; then
	start_hydra "hydra defaults (RSA 4096, PBKDF2 25,000)" default "" jwt
	start_hydra "hydra matched (RSA 2048, PBKDF2 1)" rsa2048 1 jwt
	start_hydra "hydra matched (P-256, PBKDF2 1)" es256 1 jwt
	start_hydra "hydra opaque tokens (PBKDF2 1)" default 1 opaque
fi
if peer oidc-provider; then
	start_oidc_provider "oidc-provider RS256" RS256
	start_oidc_provider "oidc-provider ES256" ES256
fi

declare -A TARGET
for t in "${TARGETS[@]}"; do TARGET[${t%%|*}]=$t; done

# Each target gets one token first: it must work, and its JOSE header says
# what the server really signs with.
: >"$WORK/headers.txt"
for t in "${TARGETS[@]}"; do
	IFS='|' read -r label alg url id secret scope pid ca <<<"$t"
	resp=$(CURL_CA_BUNDLE=$ca curl -fsS "$url" -d grant_type=client_credentials \
		--data-urlencode "client_id=$id" --data-urlencode "client_secret=$secret" --data-urlencode "scope=$scope") ||
		die "$label: no token from $url"
	tok=$(jq -r .access_token <<<"$resp")
	if [[ $alg != opaque ]]; then
		hdr=$(jwt_header "$tok" | jq -c '{alg, kid}')
		[[ $(jq -r .alg <<<"$hdr") == "$alg" ]] || die "$label signs with $hdr, not $alg"
	else
		hdr="opaque (${#tok} characters)"
	fi
	printf -- '- %s: %s\n' "$label" "$hdr" >>"$WORK/headers.txt"
done

# ---------------------------------------------------------------- load

# The order of a round interleaves the servers so that drift (thermal, a
# neighbour on the host) spreads over all of them.
ALL=("tessera RS256" "tessera before RS256" "hydra defaults (RSA 4096, PBKDF2 25,000)" "hydra matched (RSA 2048, PBKDF2 1)"
	"oidc-provider RS256" "tessera ES256" "tessera before ES256" "hydra matched (P-256, PBKDF2 1)" "oidc-provider ES256"
	"tessera RS256 over HTTPS" "hydra opaque tokens (PBKDF2 1)")
ORDER=()
for label in "${ALL[@]}"; do
	if [[ -n ${TARGET[$label]:-} ]]; then ORDER+=("$label"); fi
done

: >"$WORK/results.jsonl"
run_load() {
	local label=$1 out=$2
	IFS='|' read -r _ alg url id secret scope pid ca <<<"${TARGET[$label]}"
	local args=(--scenario client-credentials --token-url "$url" --client-id "$id"
		--client-secret "$secret" --scope "$scope" --concurrency "$CONCURRENCY"
		--duration "$DURATION" --warmup "$WARMUP" --server-pid "$pid" -o json)
	[[ -n $ca ]] && args+=(--ca-file "$ca")
	"${LOADTEST[@]}" "${args[@]}" >"$out" 2>"$out.log" || { tail -5 "$out.log" >&2; die "$label: loadtest failed"; }
}

n=0
for round in $(seq 1 "$ROUNDS"); do
	for label in "${ORDER[@]}"; do
		n=$((n + 1))
		log "round $round: $label (warm-up $WARMUP, then $DURATION at $CONCURRENCY concurrent)"
		run_load "$label" "$WORK/run-$n.json"
		IFS='|' read -r _ alg _ <<<"${TARGET[$label]}"
		jq -c --arg target "$label" --arg alg "$alg" --argjson round "$round" \
			'. + {target: $target, alg: $alg, round: $round}' "$WORK/run-$n.json" >>"$WORK/results.jsonl"
		jq -r '"           \(.rps|floor) tokens/s, p99 \(.latency_ms.p99) ms, \(.server.cpu_us_per_req|floor) µs CPU/token, errors \([.errors[]?]|add // 0)"' \
			"$WORK/run-$n.json" >&2
	done
done

# ---------------------------------------------------------------- report

order_json=$(printf '%s\n' "${ORDER[@]}" | jq -R . | jq -sc .)
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
echo "## Client credentials: tessera, Ory Hydra $HYDRA_VERSION, oidc-provider $OIDC_PROVIDER_VERSION"
echo
echo "$(nproc) CPUs ($cpu), $(go env GOVERSION), Node $(node --version), $(date -u +%Y-%m-%d). Load average before the run $LOADAVG_BEFORE, after $(cut -d' ' -f1-3 /proc/loadavg): anything else running on the machine shifts every number."
echo "Load: \`tessera loadtest\` on the same machine, $CONCURRENCY concurrent, $DURATION a run after a $WARMUP warm-up, $ROUNDS interleaved rounds; numbers are the mean of the rounds (tokens/s shows each round), RSS the largest."
echo
jq -rs --argjson order "$order_json" '
	def r(n): if . == null then "–" else (. * pow(10; n) | round) / pow(10; n) end;
	def ratio(a; b): if (a == null or b == null or b == 0) then "–" else ((a / b) | r(2) | tostring) + "×" end;
	def mean(f): (map(f) | add / length);
	group_by(.target) | map({
		target: .[0].target, alg: .[0].alg,
		rps: mean(.rps), runs: (map(.rps | floor | tostring) | join(" / ")),
		p99: mean(.latency_ms.p99), cpu: mean(.server.cpu_us_per_req), rss: (map(.server.rss_mb) | max),
		errors: (map([.errors[]?] | add // 0) | add)
	}) as $rows
	| ($rows | map({key: .target, value: .}) | from_entries) as $by
	| ["| server | alg | tokens/s | p99 ms | CPU µs/token | RSS MB | errors | tokens/s vs tessera | p99 vs tessera | CPU vs tessera | RSS vs tessera |",
	   "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|"]
	+ [$order[] | $by[.] | select(. != null) | . as $x
		| $by["tessera " + $x.alg] as $t
		| "| \($x.target) | \($x.alg) | \($x.rps | r(0)) (\($x.runs)) | \($x.p99 | r(1)) | \($x.cpu | r(0)) | \($x.rss | r(0)) | \($x.errors) | \(ratio($x.rps; $t.rps)) | \(ratio($x.p99; $t.p99)) | \(ratio($x.cpu; $t.cpu)) | \(ratio($x.rss; $t.rss)) |"]
	| .[]' "$WORK/results.jsonl"
echo
echo "What each server signed with (JOSE header of a token taken before the load):"
echo
cat "$WORK/headers.txt"
echo
echo "tessera's signing ceiling on this machine (\`go test ./internal/token -run '^\$' -bench Mint -benchtime 2s\`, all cores, no HTTP):"
echo
awk '/^BenchmarkMint/ { for (i = 1; i <= NF; i++) if ($i == "ns/op") printf "- %s: %s ns/op = %.0f tokens/s\n", $1, $(i-1), 1e9 / $(i-1) }' "$WORK/gobench.txt"
echo
echo "The signature's share of tessera's server CPU a token (\`BenchmarkMint\`'s cpu-ns/op: the CPU of one signature and its claims, against CPU µs/token above); unlike the tokens/s ceiling, which the load tool and anything else on the machine share, other work barely moves it (this build's signer only, so not the before binary):"
echo
sign_json=$(awk '/^BenchmarkMint/ { for (i = 1; i <= NF; i++) if ($i == "cpu-ns/op") { split($1, a, "[/-]"); printf "\"%s\":%s\n", a[2], $(i-1) } }' "$WORK/gobench.txt" | paste -sd, - | sed 's/^/{/; s/$/}/')
jq -rs --argjson sign "$sign_json" '
	group_by(.target) | map(select(.[0].target | startswith("tessera") and (contains("before") | not)) | {target: .[0].target, alg: .[0].alg, cpu: (map(.server.cpu_us_per_req) | add / length)})
	| .[] | select($sign[.alg] != null)
	| "- \(.target): \($sign[.alg] / 1000 | round) µs of \(.cpu | round) µs = \(($sign[.alg] / 10 / .cpu) | round) %"' "$WORK/results.jsonl"
