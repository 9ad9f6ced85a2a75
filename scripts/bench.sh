#!/usr/bin/env bash
# bench.sh: dynkv against Redis through the same load generator.
#
# Starts a 3-node cluster of separate `dynkv serve` processes (N=3 R=2 W=2)
# and a single-node redis-server without persistence, all on loopback;
# preloads KEYS keys of 1 KiB into each; runs YCSB workloads A, B and C for
# DURATION each with 64 clients against both; runs A on dynkv again at half
# of its measured peak; prints one table with the dynkv/Redis ratios.
# Every process it starts is stopped on exit, however it exits.
#
# Environment: DURATION (15s), KEYS (100000), CLIENTS (64), VALUE (1KiB),
# DISTRIBUTION (zipfian), BASE_PORT (18081: HTTP 18081-18083, gossip
# 19081-19083, Redis 16379), OUT (a temporary directory; the JSON reports
# and node logs are kept there when set), PROFILE=1 (record the three
# nodes with `perf record` during dynkv's workload A and print the top
# functions; needs perf and permission to use it).
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-15s}
KEYS=${KEYS:-100000}
CLIENTS=${CLIENTS:-64}
VALUE=${VALUE:-1KiB}
DISTRIBUTION=${DISTRIBUTION:-zipfian}
BASE_PORT=${BASE_PORT:-18081}
REDIS_PORT=$((BASE_PORT - 1702)) # 16379 by default

work=$(mktemp -d "${TMPDIR:-/tmp}/dynkv-bench.XXXXXX")
OUT=${OUT:-$work/out}
mkdir -p "$OUT"
pids=()
cleanup() {
  local code=$?
  trap - EXIT INT TERM
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do
    # A node gets 10 s to shut down cleanly, then SIGKILL.
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$work"
  exit "$code"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { printf '\n== %s (%s)\n' "$*" "$(date -u +%H:%M:%S)" >&2; }
die() { echo "bench: $*" >&2; exit 1; }

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# http_get PORT PATH: the body of a GET, without curl.
http_get() {
  exec 3<>"/dev/tcp/127.0.0.1/$1" || return 1
  printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' "$2" >&3
  cat <&3
  exec 3<&-
}

# wait_until SECONDS DESCRIPTION COMMAND...: poll until COMMAND succeeds.
wait_until() {
  local deadline=$((SECONDS + $1)) what=$2
  shift 2
  until "$@"; do
    [ "$SECONDS" -lt "$deadline" ] || die "timed out waiting for $what"
    sleep 0.2
  done
}

say "machine"
echo "$(nproc) vCPUs, $(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo), $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(go version | cut -d' ' -f3), load average $(cut -d' ' -f1-3 /proc/loadavg)" | tee "$OUT/machine.txt"

if ! command -v redis-server >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    say "installing redis-server"
    apt-get update -qq && apt-get install -y -qq redis-server >/dev/null
  else
    die "redis-server is not installed (Debian: apt-get install redis-server)"
  fi
fi
# Debian's package may start a system Redis: we run our own on REDIS_PORT.

say "building"
go build -o "$work/dynkv" ./cmd/dynkv
go build -o "$work/benchtable" ./scripts/benchtable
BIN=$work/dynkv

for i in 0 1 2; do
  for p in $((BASE_PORT + i)) $((BASE_PORT + 1000 + i)); do
    port_free "$p" || die "port $p is in use; set BASE_PORT"
  done
done
port_free "$REDIS_PORT" || die "port $REDIS_PORT is in use; set BASE_PORT"

say "starting 3 dynkv nodes and redis-server"
endpoints=()
for i in 0 1 2; do
  id=n$((i + 1))
  join=()
  [ "$i" -gt 0 ] && join=(--join "127.0.0.1:$((BASE_PORT + 1000))")
  "$BIN" serve --node-id "$id" --data-dir "$work/data/$id" \
    --http-addr "127.0.0.1:$((BASE_PORT + i))" --gossip-addr "127.0.0.1:$((BASE_PORT + 1000 + i))" \
    --n 3 --r 2 --w 2 --gossip-profile local --log-level warn "${join[@]}" \
    >"$OUT/$id.log" 2>&1 &
  pids+=($!)
  endpoints+=("127.0.0.1:$((BASE_PORT + i))")
done
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
  --dir "$work" --logfile "$OUT/redis.log" &
pids+=($!)

all_alive() {
  local i
  for i in 0 1 2; do
    [ "$(http_get $((BASE_PORT + i)) /cluster/members 2>/dev/null | grep -o '"status":"alive"' | wc -l)" -eq 3 ] || return 1
  done
}
wait_until 30 "every node to see 3 alive members" all_alive
wait_until 10 "redis-server" eval "! port_free $REDIS_PORT"

DYNKV=$(IFS=,; echo "${endpoints[*]}")
REDIS=127.0.0.1:$REDIS_PORT

# CPU accounting (Linux): the machine is shared, so next to throughput we
# record the CPU the servers spent per operation, which other load on the
# machine does not change much, and how much CPU other processes took.
clk=$(getconf CLK_TCK)
proc_ticks() { # PID...: user+system clock ticks used so far
  local s=0 p f
  for p in "$@"; do
    f=$(cut -d' ' -f14,15 "/proc/$p/stat")
    s=$((s + ${f% *} + ${f#* }))
  done
  echo "$s"
}
# Ticks that land in interrupt context are counted as irq/softirq, not to
# any process: mostly our own loopback networking, so leave them out.
machine_busy() { awk '/^cpu /{print $2+$3+$4}' /proc/stat; } # user nice system

# lt STORE NAME ARGS...: one loadtest run, its JSON report in OUT/NAME.json
# and the servers' and machine's CPU seconds in OUT/NAME.cpu.json.
lt() {
  local store=$1 name=$2 eps=$DYNKV servers=("${pids[@]:0:3}")
  # dynkv's runs share their causal contexts, as one long-lived client.
  local more=(--contexts "$work/dynkv.contexts")
  shift 2
  if [ "$store" = redis ]; then eps=$REDIS servers=("${pids[3]}") more=(); fi
  say "$store: $name"
  local s0 m0
  s0=$(proc_ticks "${servers[@]}") m0=$(machine_busy)
  "$BIN" loadtest --driver "$store" --endpoints "$eps" --json --progress-interval 5s \
    --keys "$KEYS" --value-size "$VALUE" --concurrency "$CLIENTS" --distribution "$DISTRIBUTION" \
    "${more[@]}" "$@" >"$OUT/$name.json"
  printf '{"server_cpu_seconds": %s, "machine_busy_cpu_seconds": %s}\n' \
    "$(awk -v t=$(($(proc_ticks "${servers[@]}") - s0)) -v c="$clk" 'BEGIN{print t/c}')" \
    "$(awk -v t=$(($(machine_busy) - m0)) -v c="$clk" 'BEGIN{print t/c}')" >"$OUT/$name.cpu.json"
}

# profile_start / profile_stop: perf samples of the three nodes.
perf_pid=
profile_start() {
  [ "${PROFILE:-0}" = 1 ] || return 0
  command -v perf >/dev/null || die "PROFILE=1 needs perf"
  perf record -q -F 499 -g -o "$OUT/nodes-A.perf" -p "$(IFS=,; echo "${pids[*]:0:3}")" 2>"$OUT/perf.log" &
  perf_pid=$!
  pids+=("$perf_pid")
}
profile_stop() {
  [ -n "$perf_pid" ] || return 0
  kill -INT "$perf_pid" && wait "$perf_pid" || true
  perf report -i "$OUT/nodes-A.perf" --stdio --no-children --sort symbol --percent-limit 0.7 2>/dev/null |
    grep -E '^ +[0-9.]+%' | sed -E 's/[[:space:]]+-[[:space:]]+-[[:space:]]*$//' >"$OUT/profile-self.txt" || true
  perf report -i "$OUT/nodes-A.perf" --stdio --children --sort symbol --percent-limit 3 -g none 2>/dev/null |
    grep -E '^ +[0-9.]+%' | sed -E 's/[[:space:]]+-[[:space:]]+-[[:space:]]*$//' >"$OUT/profile-cum.txt" || true
}

for store in dynkv redis; do
  lt "$store" "$store-load" --preload --duration 0
  for w in A B C; do
    [ "$store$w" = dynkvA ] && profile_start
    lt "$store" "$store-$w" --workload "$w" --duration "$DURATION"
    [ "$store$w" = dynkvA ] && profile_stop
  done
done
half=$("$work/benchtable" half "$OUT/dynkv-A.json")
lt dynkv dynkv-A-half --workload A --duration "$DURATION" --rate "$half"

say "results: YCSB A (50/50), B (95/5), C (read-only); $KEYS $DISTRIBUTION keys, $VALUE values, $CLIENTS clients, $DURATION each"
cat "$OUT/machine.txt"
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
"$work/benchtable" table "$OUT"
if [ -s "$OUT/profile-self.txt" ]; then
  echo; echo "CPU of the three nodes during dynkv A (perf, self time, top 25):"
  head -25 "$OUT/profile-self.txt"
  echo; echo "including callees (top 40):"
  head -40 "$OUT/profile-cum.txt"
fi
[ "$OUT" = "$work/out" ] || echo "reports and logs: $OUT"
