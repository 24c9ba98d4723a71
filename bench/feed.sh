#!/usr/bin/env bash
# bench/feed.sh: what a refresh flood costs the revocation feed and the
# resource servers that follow it. One tessera on SQLite, one `tessera proxy`
# following its feed every second; then REQUESTS refreshes by CONCURRENCY
# rotation chains of one user (the load tool's refresh scenario). Prints the
# refresh rate, the feed's live entries and the proxy's resident memory
# before and after, as one Markdown table row on stdout.
#
#   bench/feed.sh                                  # 5,000 refreshes, 8 chains
#   TESSERA=/tmp/old/tessera REQUESTS=20000 bench/feed.sh
#
# TESSERA is the binary to measure (default: built from this checkout), so
# that two builds can be compared on the same machine, interleaved.
set -euo pipefail

. "$(dirname "$0")/lib.sh"
bench_bounded "$@"

REQUESTS=${REQUESTS:-5000}
CONCURRENCY=${CONCURRENCY:-8}
LABEL=${LABEL:-}

REPO=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/tessera-feed.XXXXXX")
for tool in go curl jq; do command -v "$tool" >/dev/null || die "$tool is required"; done

if [[ -z ${TESSERA:-} ]]; then
	log "building tessera"
	(cd "$REPO" && go build -o "$WORK/tessera" ./cmd/tessera)
	TESSERA=$WORK/tessera
fi

alloc_port port
url=http://127.0.0.1:$port
"$TESSERA" serve --data "$WORK/data" --http --addr "127.0.0.1:$port" --public-url "$url" --log-level warn >"$WORK/serve.log" 2>&1 &
PIDS+=("$!")
for _ in $(seq 1 300); do
	curl -fsS -o /dev/null "$url/default/v2.0/.well-known/openid-configuration" 2>/dev/null && break
	sleep 0.2
done
# The first start writes its admin client to the data folder, not the log.
id=$(jq -r '.clientId // empty' "$WORK/data/bootstrap-admin.json")
secret=$(jq -r '.clientSecret // empty' "$WORK/data/bootstrap-admin.json")
[[ -n $id && -n $secret ]] || die "the server wrote no bootstrap client"

# --setup with one request: the apps, the user and the policy, printed on
# stderr as JSON after a comment line.
"$TESSERA" loadtest --scenario refresh --url "$url" --setup --admin-client-id "$id" --admin-client-secret "$secret" \
	--concurrency 1 --requests 1 --duration 0 --warmup 0 -o json >/dev/null 2>"$WORK/setup.log" ||
	{ cat "$WORK/setup.log" >&2; die "setup failed"; }
api=$(sed -n '/^{/,/^}/p' "$WORK/setup.log" | jq -r .apiAppId)

alloc_port pport
"$TESSERA" proxy --upstream http://127.0.0.1:9 --addr "127.0.0.1:$pport" --authority "$url/default/v2.0" \
	--audience "api://$api" --audience "$api" --revocation-poll 1s >"$WORK/proxy.log" 2>&1 &
proxy=$!
PIDS+=("$proxy")

# feed_entries counts the live entries of the home tenant's feed.
feed_entries() {
	local after=0 n=0 page count
	while :; do
		page=$(curl -fsS "$url/default/oauth2/v2.0/revocations?after=$after&limit=1000")
		count=$(jq '.revocations | length' <<<"$page")
		((count == 0)) && break
		n=$((n + count))
		after=$(jq .next <<<"$page")
	done
	echo "$n"
}
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$proxy/status"; }

sleep 3
feed_before=$(feed_entries)
rss_before=$(rss_kb)
log "flooding: $REQUESTS refreshes over $CONCURRENCY chains"
"$TESSERA" loadtest --scenario refresh --url "$url" --setup --admin-client-id "$id" --admin-client-secret "$secret" \
	--concurrency "$CONCURRENCY" --requests "$REQUESTS" --duration 0 --warmup 0 -o json >"$WORK/flood.json" 2>"$WORK/flood.log" ||
	{ tail -5 "$WORK/flood.log" >&2; die "the flood failed"; }
sleep 3 # the proxy polls every second
feed_after=$(feed_entries)
rss_after=$(rss_kb)

rps=$(jq '.rps | floor' "$WORK/flood.json")
errors=$(jq '[.errors[]?] | add // 0' "$WORK/flood.json")
per=$(awk -v a="$rss_after" -v b="$rss_before" -v n="$((feed_after - feed_before))" \
	'BEGIN { if (n > 0) printf "%.2f", (a - b) / n; else print "–" }')
echo "| ${LABEL:-$TESSERA} | $REQUESTS | $rps | $errors | $feed_before → $feed_after | $((rss_before / 1024)).$(((rss_before % 1024) * 10 / 1024)) → $((rss_after / 1024)).$(((rss_after % 1024) * 10 / 1024)) MB | $per |"
