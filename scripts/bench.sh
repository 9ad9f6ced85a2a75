#!/usr/bin/env bash
# bench.sh: dynkv against Olric and Redis through the same load generator.
#
# Starts a 3-node cluster of separate `dynkv serve` processes (N=3 R=2 W=2),
# a 3-member Olric v0.5.7 cluster (replicaCount 3, read and write quorum 2,
# synchronous replication; built by this script from scripts/peers, its own
# Go module, and cached in bin/peers/) and a single-node redis-server
# without persistence, all on loopback; preloads the same KEYS keys of
# 1 KiB into each; then for ROUNDS rounds runs YCSB workloads A, B and C for
# DURATION each with 64 clients, each workload on dynkv, Olric and Redis
# in turn, then A on dynkv and on Olric at half of dynkv's peak of that
# round; prints the medians over the rounds and the ratios. A second dynkv
# cluster, secured as docs/SECURITY.md describes (mutual TLS between
# nodes, TLS and a token for the client, encrypted gossip), runs A and C
# next to the plain one's, for the cost of security.
# Every process it starts is stopped on exit, however it exits.
#
# Environment: ROUNDS (3), DURATION (15s), KEYS (100000), CLIENTS (64),
# VALUE (1KiB), DISTRIBUTION (zipfian), BASE_PORT (18081: dynkv HTTP
# 18081-18083, gossip 19081-19083, the secured cluster 18091-18093 and
# 19091-19093, Olric 17081-17083, its memberlist
# 17181-17183, Redis 16379), OUT (a temporary directory; the JSON reports,
# progress lines and server logs are kept there when set), PROFILE=1
# (record the three dynkv nodes with `perf record` during round 1's
# workload A and print the top functions; needs perf and permission to
# use it).
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-15s}
KEYS=${KEYS:-100000}
CLIENTS=${CLIENTS:-64}
VALUE=${VALUE:-1KiB}
DISTRIBUTION=${DISTRIBUTION:-zipfian}
BASE_PORT=${BASE_PORT:-18081}
REDIS_PORT=$((BASE_PORT - 1702)) # 16379 by default
OLRIC_PORT=$((BASE_PORT - 1000))  # 17081-17083 by default
OLRIC_ML_PORT=$((BASE_PORT - 900)) # 17181-17183: Olric's memberlist (gossip)

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

command -v redis-server >/dev/null ||
  die "redis-server is not installed; on Debian or Ubuntu: apt-get install redis-server"
# Debian's package may start a system Redis: we run our own on REDIS_PORT.

say "building"
go build -o "$work/dynkv" ./cmd/dynkv
go build -o "$work/benchtable" ./scripts/benchtable
BIN=$work/dynkv
# Olric and its driver build in scripts/peers, a module of their own, so
# that Olric never enters dynkv's go.mod. olricd is cached in bin/peers/
# until scripts/peers/go.mod or go.sum change; the driver is rebuilt every
# time (cheap) because it links this checkout's loadtest package.
OLRICD=$PWD/bin/peers/olricd
if [ ! -x "$OLRICD" ] || [ scripts/peers/go.mod -nt "$OLRICD" ] || [ scripts/peers/go.sum -nt "$OLRICD" ]; then
  (cd scripts/peers && go build -o "$OLRICD" github.com/buraksezer/olric/cmd/olricd) ||
    die "building olricd in scripts/peers failed"
fi
(cd scripts/peers && go build -o "$work/olricload" ./olricload) || die "building scripts/peers/olricload failed"

SECURE_PORT=$((BASE_PORT + 10))
for i in 0 1 2; do
  for p in $((BASE_PORT + i)) $((BASE_PORT + 1000 + i)) $((SECURE_PORT + i)) $((SECURE_PORT + 1000 + i)) \
    $((OLRIC_PORT + i)) $((OLRIC_ML_PORT + i)); do
    port_free "$p" || die "port $p is in use; set BASE_PORT"
  done
done
port_free "$REDIS_PORT" || die "port $REDIS_PORT is in use; set BASE_PORT"

say "starting 3 dynkv nodes, 3 Olric members and redis-server"
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
dynkv_pids=("${pids[@]}")

# The secured cluster: its CA, certificates, gossip keyring and a write
# token are made with dynkv's own commands, as an operator would.
sec=$work/secure
"$BIN" cert create-ca --certs-dir "$sec/ca" >/dev/null
"$BIN" keyring generate --file "$sec/gossip.keys" >/dev/null
TOKEN=$("$BIN" token create bench --role write --tokens-file "$sec/tokens" 2>/dev/null)
secure_endpoints=()
secure_pids=()
for i in 0 1 2; do
  id=n$((i + 1))
  "$BIN" cert create-node "$id" --certs-dir "$sec/ca" --out-dir "$sec/$id" >/dev/null
  install -m 600 "$sec/gossip.keys" "$sec/$id/gossip.keys"
  join=()
  [ "$i" -gt 0 ] && join=(--join "127.0.0.1:$((SECURE_PORT + 1000))")
  "$BIN" serve --node-id "$id" --data-dir "$work/sdata/$id" \
    --http-addr "127.0.0.1:$((SECURE_PORT + i))" --gossip-addr "127.0.0.1:$((SECURE_PORT + 1000 + i))" \
    --certs-dir "$sec/$id" --gossip-key-file "$sec/$id/gossip.keys" --tokens-file "$sec/tokens" \
    --n 3 --r 2 --w 2 --gossip-profile local --log-level warn "${join[@]}" \
    >"$OUT/secure-$id.log" 2>&1 &
  pids+=($!)
  secure_pids+=($!)
  secure_endpoints+=("https://127.0.0.1:$((SECURE_PORT + i))")
done

# olric_config I: member I's YAML from the template, the other two members'
# memberlist addresses as its peers.
olric_config() {
  local i=$1 j peers=()
  for j in 0 1 2; do
    [ "$j" = "$i" ] || peers+=("    - \"127.0.0.1:$((OLRIC_ML_PORT + j))\"")
  done
  awk -v bind=$((OLRIC_PORT + i)) -v ml=$((OLRIC_ML_PORT + i)) -v peers="$(printf '%s\n' "${peers[@]}")" \
    '{ gsub(/@BIND_PORT@/, bind); gsub(/@MEMBERLIST_PORT@/, ml) }
     $0 == "@PEERS@" { print peers; next } { print }' scripts/peers/olricd.yaml.tmpl
}
# Members start one after the other: a member that finds none of its peers
# (maxJoinAttempts 1, as in Olric's local config) forms a cluster of its
# own, so each must be up before the next one looks for it.
olric_endpoints=()
for i in 0 1 2; do
  olric_config "$i" >"$OUT/olric$((i + 1)).yaml"
  "$OLRICD" -c "$OUT/olric$((i + 1)).yaml" >"$OUT/olric$((i + 1)).log" 2>&1 &
  pids+=($!)
  olric_pids+=($!)
  olric_endpoints+=("127.0.0.1:$((OLRIC_PORT + i))")
  wait_until 30 "olricd member $((i + 1))" eval "! port_free $((OLRIC_PORT + i))"
done

redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
  --dir "$work" --logfile "$OUT/redis.log" &
pids+=($!)
redis_pid=$!

all_alive() {
  local i
  for i in 0 1 2; do
    [ "$(http_get $((BASE_PORT + i)) /cluster/members 2>/dev/null | grep -o '"status":"alive"' | wc -l)" -eq 3 ] || return 1
  done
}
wait_until 30 "every node to see 3 alive members" all_alive
secure_alive() {
  local e
  for e in "${secure_endpoints[@]}"; do
    [ "$("$BIN" members --endpoints "$e" --ca-cert "$sec/ca/ca.crt" --token "$TOKEN" 2>/dev/null | grep -cw alive)" -eq 3 ] || return 1
  done
}
wait_until 30 "every secured node to see 3 alive members" secure_alive
wait_until 10 "redis-server" eval "! port_free $REDIS_PORT"
DYNKV=$(IFS=,; echo "${endpoints[*]}")
SECURE=$(IFS=,; echo "${secure_endpoints[*]}")
OLRIC=$(IFS=,; echo "${olric_endpoints[*]}")
REDIS=127.0.0.1:$REDIS_PORT
"$work/olricload" --endpoints "$OLRIC" --wait-members 3 --replicas 3 --wait-timeout 60s ||
  die "the Olric cluster did not form (logs: $OUT/olric*.log)"

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

# lt STORE NAME ARGS...: one run of the generator, its JSON report in
# OUT/NAME.json, its progress lines (one a second: the report itself has
# only whole-run percentiles) in OUT/NAME.progress, and the servers' and
# machine's CPU seconds in OUT/NAME.cpu.json.
lt() {
  local store=$1 name=$2 cmd servers more=()
  shift 2
  case $store in
  dynkv)
    cmd=("$BIN" loadtest --driver dynkv --endpoints "$DYNKV") servers=("${dynkv_pids[@]}")
    # dynkv's runs share their causal contexts, as one long-lived client.
    more=(--contexts "$work/dynkv.contexts")
    ;;
  dynkvs)
    cmd=("$BIN" loadtest --driver dynkv --endpoints "$SECURE" --ca-cert "$sec/ca/ca.crt" --token "$TOKEN")
    servers=("${secure_pids[@]}") more=(--contexts "$work/dynkvs.contexts")
    ;;
  olric) cmd=("$work/olricload" --endpoints "$OLRIC") servers=("${olric_pids[@]}") ;;
  redis) cmd=("$BIN" loadtest --driver redis --endpoints "$REDIS") servers=("$redis_pid") ;;
  esac
  say "$store: $name"
  local s0 m0
  s0=$(proc_ticks "${servers[@]}") m0=$(machine_busy)
  if ! "${cmd[@]}" --json --progress-interval 1s --keys "$KEYS" --value-size "$VALUE" \
    --concurrency "$CLIENTS" --distribution "$DISTRIBUTION" "${more[@]}" "$@" \
    >"$OUT/$name.json" 2>"$OUT/$name.progress"; then
    tail -5 "$OUT/$name.progress" >&2
    die "$store: $name failed"
  fi
  printf '{"server_cpu_seconds": %s, "machine_busy_cpu_seconds": %s}\n' \
    "$(awk -v t=$(($(proc_ticks "${servers[@]}") - s0)) -v c="$clk" 'BEGIN{print t/c}')" \
    "$(awk -v t=$(($(machine_busy) - m0)) -v c="$clk" 'BEGIN{print t/c}')" >"$OUT/$name.cpu.json"
  grep '^\[' "$OUT/$name.progress" | tail -1 >&2 || true
}

# profile_start / profile_stop: perf samples of the three dynkv nodes.
perf_pid=
profile_start() {
  [ "${PROFILE:-0}" = 1 ] || return 0
  command -v perf >/dev/null || die "PROFILE=1 needs perf"
  perf record -q -F 499 -g -o "$OUT/nodes-A.perf" -p "$(IFS=,; echo "${dynkv_pids[*]}")" 2>"$OUT/perf.log" &
  perf_pid=$!
  pids+=("$perf_pid")
}
profile_stop() {
  [ -n "$perf_pid" ] || return 0
  kill -INT "$perf_pid" && wait "$perf_pid" || true
  perf_pid=
  perf report -i "$OUT/nodes-A.perf" --stdio --no-children --sort symbol --percent-limit 0.7 2>/dev/null |
    grep -E '^ +[0-9.]+%' | sed -E 's/[[:space:]]+-[[:space:]]+-[[:space:]]*$//' >"$OUT/profile-self.txt" || true
  perf report -i "$OUT/nodes-A.perf" --stdio --children --sort symbol --percent-limit 3 -g none 2>/dev/null |
    grep -E '^ +[0-9.]+%' | sed -E 's/[[:space:]]+-[[:space:]]+-[[:space:]]*$//' >"$OUT/profile-cum.txt" || true
}

for store in dynkv dynkvs olric redis; do
  lt "$store" "$store-load" --preload --duration 0
done
# Each workload runs on the three stores back to back, so that the
# figures compared are minutes apart, and the rounds repeat that to show
# the machine's drift; benchtable takes the medians.
for round in $(seq "$ROUNDS"); do
  for w in A B C; do
    for store in dynkv olric redis; do
      [ "$round$store$w" = 1dynkvA ] && profile_start
      lt "$store" "r$round-$store-$w" --workload "$w" --duration "$DURATION"
      [ "$round$store$w" = 1dynkvA ] && profile_stop
      # The secured cluster right after the plain one, for the cost.
      if [ "$store" = dynkv ] && [ "$w" != B ]; then
        lt dynkvs "r$round-dynkvs-$w" --workload "$w" --duration "$DURATION"
      fi
    done
  done
  # Tails compare at equal load: A on both clusters at half of what dynkv
  # reached in this round (latency from each operation's scheduled start).
  half=$("$work/benchtable" half "$OUT/r$round-dynkv-A.json")
  for store in dynkv olric; do
    lt "$store" "r$round-$store-Ahalf" --workload A --duration "$DURATION" --rate "$half"
  done
done

say "results: YCSB A (50/50), B (95/5), C (read-only); $KEYS $DISTRIBUTION keys, $VALUE values, $CLIENTS clients, $DURATION each, $ROUNDS rounds"
cat "$OUT/machine.txt"
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
"$work/benchtable" table "$OUT"
if [ -s "$OUT/profile-self.txt" ]; then
  echo; echo "CPU of the three dynkv nodes during round 1's A (perf, self time, top 25):"
  head -25 "$OUT/profile-self.txt"
  echo; echo "including callees (top 40):"
  head -40 "$OUT/profile-cum.txt"
fi
[ "$OUT" = "$work/out" ] || echo "reports and logs: $OUT"
