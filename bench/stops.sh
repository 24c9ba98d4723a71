#!/usr/bin/env bash
# Which of the project's functions one request walks through (issue 14's
# "stops"): coverage profiles after one refresh and after two, diffed by
# bench/stops. TESSERA_STOPS_GRANT=client_credentials measures a
# client-credentials request instead; TESSERA_STOPS_SCOPE=… names a scope
# on the refresh, as MSAL does.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for last in 0 1; do
	TESSERA_STOPS_LAST=$last go test -count=1 -covermode=count \
		-coverpkg=github.com/tessera-id/tessera/... -coverprofile="$tmp/stops$last" \
		-run TestRefreshStops ./internal/oauth/ >/dev/null
done
go run ./bench/stops "$tmp/stops0" "$tmp/stops1"
