# bench/lib.sh: what the bench scripts share. Source it first thing:
#   . "$(dirname "$0")/lib.sh"; bench_bounded "$@"
# Each script then sets its own cleanup hook (bench_cleanup_extra) and
# WORK folder; the servers it starts go in PIDS.

# bench_bounded re-runs the calling script under timeout (BENCH_TIMEOUT,
# 590 s by default), which signals the script and every server in its
# process group, so the whole run is bounded however it goes.
bench_bounded() {
	if [[ -z "${BENCH_UNDER_TIMEOUT:-}" ]]; then
		export BENCH_UNDER_TIMEOUT=1
		exec timeout -k 15 "${BENCH_TIMEOUT:-590}" "$0" "$@"
	fi
}

log() { printf '%s %s\n' "$(date +%T)" "$*" >&2; }
die() {
	log "error: $*"
	exit 1
}

# The servers started; every one is stopped at exit (TERM, then KILL after
# 2 s). bench_cleanup_extra, if the script defines it, runs after them.
PIDS=()
bench_cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
	for pid in "${PIDS[@]}"; do
		for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
		kill -9 "$pid" 2>/dev/null || true
	done
	if declare -F bench_cleanup_extra >/dev/null; then bench_cleanup_extra || true; fi
	if [[ -n "${KEEP_WORK:-}" || $rc -ne 0 ]]; then
		log "kept ${WORK:-} (servers' logs, raw results)"
	else
		rm -rf "${WORK:-/nonexistent}"
	fi
	exit "$rc"
}
trap bench_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# alloc_port VAR: a loopback port nobody listens on, below the ephemeral
# range (32768+), where client sockets would collide.
NEXT_PORT=$((20000 + RANDOM % 10000))
alloc_port() {
	while (exec 3<>"/dev/tcp/127.0.0.1/$NEXT_PORT") 2>/dev/null; do NEXT_PORT=$((NEXT_PORT + 1)); done
	printf -v "$1" '%s' "$NEXT_PORT"
	NEXT_PORT=$((NEXT_PORT + 1))
}
