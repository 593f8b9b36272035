#!/bin/bash
# The whole sign-in, side by side (issue #31, part 3): latchkey vs node-oidc-provider (peer/),
# one run, alternating, same browsers and duration; the driver is tests/benches/flow.rs.
#
# usage: ./whole_flow.sh LATCHKEY_BIN FLOW_BIN
#   FLOW_BIN: the flow bench's executable, e.g.
#     cargo bench -p latchkey-tests --bench flow --no-run --message-format=json \
#       | python3 -c 'import sys,json;[print(m["executable"]) for m in map(json.loads,sys.stdin) if m.get("executable")]'
# env: RUNS (3) DUR (10 s per measurement) C (16 browsers) PG=1 (also PostgreSQL + Redis)
#      ONLY=returning,password,passkey,storm,argon2,sessions (default all) OUT_DIR (/tmp)
#      STORM_SECS (15) STORM_RATE (20 password sign-ins/s) STORM_CONNS (2 client_credentials callers)
#      ID_TOKEN_ALG (RS256, the OIDC default; ES256 or EdDSA: both servers' relying party asks for it)
# Results: $OUT/results.jsonl (one JSON line per measurement); ./summarize.py $OUT prints the tables.
set -e; PERF=$(cd "$(dirname "$0")" && pwd); cd "$PERF"
BIN=$(realpath "$1"); FLOW=$(realpath "$2"); R=${RUNS:-3}; D=${DUR:-10}; C=${C:-16}
ONLY=${ONLY:-returning,password,passkey,storm,argon2,sessions}
has() { [[ ",$ONLY," == *",$1,"* ]]; }
export PEER_PORT=${PEER_PORT:-13000} PEER_MINT_PORT=${PEER_MINT_PORT:-13001}
LK_PORT=${LK_PORT:-18400}
export QUIET_WAIT=${QUIET_WAIT:-30}
OUT=${OUT_DIR:-/tmp}/latchkey-flow-$(date +%Y%m%d-%H%M%S); mkdir -p "$OUT"; export RESULTS=$OUT/results.jsonl
PASSWORD='violet harbor quill 1997'
log() { echo "[$(date +%H:%M:%S)] $*" | tee -a "$OUT/log.txt"; }
rec() { tee -a "$RESULTS"; }   # driver lines are JSON already
quiet() {  # wait (at most QUIET_WAIT s) for < 15 % of the machine busy over 2 s, as measure.py does
  python3 -c "import measure,json,sys; b,w=measure.wait_quiet(); print(json.dumps(dict(pre_busy_pct_of_200=b, waited_s=w)))" >> "$OUT/quiet.jsonl"
}
log "machine: $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg); latchkey $BIN; driver $FLOW; RUNS=$R DUR=$D C=$C"

# --- the peer
export ID_TOKEN_ALG=${ID_TOKEN_ALG:-RS256}
NODE_ENV=production node peer/server.mjs > "$OUT/peer.log" 2>&1 & PEER=$!
LK=
cleanup() { kill $PEER 2>/dev/null || true; [ -n "$LK" ] && kill $LK 2>/dev/null || true; }
trap cleanup EXIT
sleep 2
PEER_ISS=http://127.0.0.1:$PEER_PORT

add_users() {  # $1: prefix; users $10 … $1(C-1), with the server's settings
  for n in $(seq 0 $((C - 1))); do echo "$PASSWORD" | $BIN user add $1$n --email $1$n@example.com --password-stdin >/dev/null; done
}
start_lk() {  # $1: work dir; backend env already exported
  local W=$1; mkdir -p "$W/data"
  export LATCHKEY_BIND=127.0.0.1:$LK_PORT LATCHKEY_ISSUER=http://localhost:$LK_PORT LATCHKEY_DATA_DIR=$W/data \
    LATCHKEY_TRUSTED_PROXIES=127.0.0.1/32 LATCHKEY_LOG=warn
  $BIN serve > "$W/serve.log" 2>&1 & LK=$!
  for _ in $(seq 1 100); do curl -sf http://127.0.0.1:$LK_PORT/health/ready >/dev/null && break; sleep 0.2; done
  echo "$PASSWORD" | $BIN user add bench --email bench@example.com --password-stdin >/dev/null
  add_users benchpw
  $BIN client add --name rp --redirect-uri http://localhost:3999/cb --grant-type authorization_code --scope openid --id-token-alg "${ID_TOKEN_ALG:-RS256}" --json > "$W/client.json"
  $BIN client add --name cc --grant-type client_credentials --json > "$W/cc.json"
  LK_ID=$(python3 -c 'import json,sys;print(json.load(open(sys.argv[1]))["client_id"])' "$W/client.json")
  LK_SECRET=$(python3 -c 'import json,sys;print(json.load(open(sys.argv[1]))["client_secret"])' "$W/client.json")
  CC_AUTH=$(python3 -c 'import json,sys;c=json.load(open(sys.argv[1]));print(c["client_id"]+":"+c["client_secret"])' "$W/cc.json")
  unset LATCHKEY_BIND LATCHKEY_ISSUER LATCHKEY_DATA_DIR LATCHKEY_TRUSTED_PROXIES LATCHKEY_LOG
  LK_DATA=$W/data
}
with_lk_env() { LATCHKEY_BIND=127.0.0.1:$LK_PORT LATCHKEY_ISSUER=http://localhost:$LK_PORT LATCHKEY_DATA_DIR=$LK_DATA "$@"; }
stop_lk() { kill $LK; wait $LK 2>/dev/null || true; LK=; }

peer_flow() { local k=$1; shift; quiet; $FLOW flow issuer=$PEER_ISS client_id=rp-1 secret=rp-secret-1 user=bench "password=$PASSWORD" conc=$C secs=$D pids=$PEER "label=peer-$k" kind=$k "$@" | rec; }
# Database and Redis work per flow (PostgreSQL + Redis): pg_stat_database and Redis's command count
# before and after a run, divided by the run's flows (flows_all: the warm-up's too).
pgstat() { [ -n "${PGDB:-}" ] && psql -h 127.0.0.1 -U postgres -tAF, -c "select pg_stat_force_next_flush(); select xact_commit, tup_returned + tup_fetched, tup_inserted, tup_updated, tup_deleted, blks_hit + blks_read from pg_stat_database where datname = '$PGDB'" | tail -1 | tr -d '\n' && echo ",$(redis-cli info stats | grep total_commands_processed | cut -d: -f2 | tr -d '\r')"; }
lk_flow() {
  local b=$1 k=$2 s0 s1; s0=$(pgstat || true); lk_flow_ "$@" > "$OUT/last.json"; [ -n "$s0" ] && sleep 2; s1=$(pgstat || true); cat "$OUT/last.json"
  if [ -n "$s0" ]; then python3 -c "
import json,sys
r=json.load(open(sys.argv[1])); a=[float(x) for x in sys.argv[2].split(',')]; b=[float(x) for x in sys.argv[3].split(',')]; n=max(r['flows_all'],1)
names=['commits','rows_read','rows_inserted','rows_updated','rows_deleted','buffers','redis_commands']
print(json.dumps(dict(label=r['label']+'-work-per-flow', flows_all=n, **{k: round((y-x)/n, 2) for k,x,y in zip(names,a,b)})))" "$OUT/last.json" "$s0" "$s1" | rec; fi
}
lk_flow_() { local b=$1 k=$2; shift 2; quiet; $FLOW flow issuer=http://localhost:$LK_PORT client_id=$LK_ID secret=$LK_SECRET user=$(case $k in passkey) echo $PK_USERS;; password) echo benchpw;; *) echo bench;; esac) "password=$PASSWORD" conc=$C secs=$D pids=$LK "label=lk-$b-$k" kind=$k "$@" | rec; }

run_backend() {  # $1: embedded | pg
  local b=$1 W=$OUT/lk-$1
  start_lk "$W"
  log "latchkey $b: pid $LK, client $LK_ID"
  for r in $(seq 1 $R); do
    has returning && { peer_flow returning; lk_flow $b returning; }
    has password && { peer_flow password; lk_flow $b password; }
    # Passkey users are new every run: one that has a passkey signs in with a password only with a second step.
    has passkey && { PK_USERS=benchpk${r}x; with_lk_env add_users $PK_USERS; lk_flow $b passkey; }
  done
  if has storm; then
    # (c): client_credentials p99 from STORM_CONNS callers, idle, then during STORM_RATE password sign-ins/s.
    local S=${STORM_SECS:-15} RATE=${STORM_RATE:-20} N=${STORM_CONNS:-2}
    export AUTH=$CC_AUTH BODY=grant_type=client_credentials
    wrk -t1 -c$N -d3s -s lua/post.lua http://127.0.0.1:$LK_PORT/token > /dev/null
    for r in $(seq 1 $R); do
      python3 measure.py lk-$b-cc-idle $LK 1 -- -t1 -c$N -d${S}s --latency -s lua/post.lua http://127.0.0.1:$LK_PORT/token | grep SUMMARY | tee -a "$OUT/log.txt"
      $FLOW flow issuer=http://localhost:$LK_PORT client_id=$LK_ID secret=$LK_SECRET user=benchpw "password=$PASSWORD" kind=password conc=$C rate=$RATE warmup=2 secs=$((S + 2)) pids=$LK label=lk-$b-storm-sign-ins | rec &
      local SP=$!; sleep 3
      QUIET_WAIT=0 python3 measure.py lk-$b-cc-storm $LK 1 -- -t1 -c$N -d${S}s --latency -s lua/post.lua http://127.0.0.1:$LK_PORT/token | grep SUMMARY | tee -a "$OUT/log.txt"
      wait $SP
    done
  fi
  if has sessions; then sessions_$b "$W"; fi
  echo "{\"label\":\"lk-$b-rss\",\"rss_kib\":$(ps -o rss= -p $LK)}" | rec
  stop_lk
}

# Bytes per live session. The flows above made them (every password and passkey sign-in is a
# new session; returning flows make none).
sessions_embedded() {
  local db=$1/data/latchkey.db
  python3 - "$db" <<'EOF' | rec
import json, sqlite3, sys
c = sqlite3.connect(sys.argv[1])
n = c.execute("select count(*) from sessions").fetchone()[0]
row = c.execute("select avg(length(key_hash)+length(sid)+length(user_id)+24+length(coalesce(amr,''))+length(coalesce(ip,''))+length(coalesce(user_agent,''))+length(coalesce(device_name,''))+length(coalesce(device_id,''))) from sessions").fetchone()[0]
pages = {}
try:
    for name, size in c.execute("select name, sum(pgsize) from dbstat where name like '%session%' group by name"):
        pages[name] = size
except sqlite3.OperationalError as e:
    pages = {"dbstat": str(e)}
print(json.dumps({"label": "lk-embedded-sessions", "sessions": n, "avg_field_bytes": row, "sqlite_bytes_by_object": pages,
                  "bytes_per_session": round(sum(v for v in pages.values() if isinstance(v, int)) / n) if n and pages and all(isinstance(v, int) for v in pages.values()) else None}))
EOF
}
sessions_pg() {
  local q="psql -h 127.0.0.1 -U postgres -d $PGDB -tAc"
  $q "vacuum analyze sessions; vacuum analyze session_clients" >/dev/null 2>&1 || true
  local n=$($q "select count(*) from sessions") nc=$($q "select count(*) from session_clients")
  local rel=$($q "select pg_relation_size('sessions')") tot=$($q "select pg_total_relation_size('sessions')")
  local crel=$($q "select pg_total_relation_size('session_clients')") row=$($q "select round(avg(pg_column_size(s.*))) from sessions s")
  local crow=$($q "select coalesce(round(avg(pg_column_size(c.*))),0) from session_clients c")
  local idx=$($q "select string_agg(indexrelname || '=' || pg_relation_size(indexrelid), ' ') from pg_stat_user_indexes where relname in ('sessions','session_clients')")
  # Redis: every key under the run's prefix, by kind (the part before the first ':' after the prefix).
  local rk=$(redis-cli --scan --pattern "${LATCHKEY_REDIS_PREFIX}session:*" | wc -l)
  local rbytes=$(redis-cli --scan --pattern "${LATCHKEY_REDIS_PREFIX}session:*" | head -2000 | while read k; do redis-cli memory usage "$k"; done | awk '{s+=$1;n++} END {if (n) printf "%.0f", s/n; else print 0}')
  local rval=$(redis-cli --scan --pattern "${LATCHKEY_REDIS_PREFIX}session:*" | head -200 | while read k; do redis-cli strlen "$k"; done | awk '{s+=$1;n++} END {if (n) printf "%.0f", s/n; else print 0}')
  local kinds=$(redis-cli --scan --pattern "${LATCHKEY_REDIS_PREFIX}*" | sed "s/^${LATCHKEY_REDIS_PREFIX}//; s/:.*//" | sort | uniq -c | awk '{printf "%s=%s ", $2, $1}')
  echo "{\"label\":\"lk-pg-sessions\",\"sessions\":$n,\"session_clients\":$nc,\"sessions_heap_bytes\":$rel,\"sessions_total_bytes\":$tot,\"session_clients_total_bytes\":$crel,\"avg_row_bytes\":$row,\"avg_session_client_row_bytes\":$crow,\"indexes\":\"$idx\",\"pg_bytes_per_session\":$(( (tot + crel) / (n > 0 ? n : 1) )),\"redis_session_keys\":$rk,\"redis_memory_usage_per_session_key\":$rbytes,\"redis_value_bytes\":$rval,\"redis_keys_by_kind\":\"$kinds\"}" | rec
}

has argon2 && { quiet; $FLOW argon2 threads=2 secs=$D | rec; quiet; $FLOW argon2 threads=1 secs=$D | rec; }
run_backend embedded
if [ -n "${PG:-}" ]; then
  export PGDB=latchkey_bench_$RANDOM$$
  psql -h 127.0.0.1 -U postgres -qc "create database $PGDB"
  export LATCHKEY_DATABASE_URL=postgres://postgres@127.0.0.1:5432/$PGDB LATCHKEY_REDIS_URL=redis://127.0.0.1:6379/ LATCHKEY_REDIS_PREFIX=lkbench$$:
  run_backend pg || log "pg run failed"
  psql -h 127.0.0.1 -U postgres -qc "drop database if exists $PGDB with (force)"
  redis-cli --scan --pattern "${LATCHKEY_REDIS_PREFIX}*" | xargs -r -n 500 redis-cli del > /dev/null
  unset LATCHKEY_DATABASE_URL LATCHKEY_REDIS_URL
fi
log "results in $OUT"
python3 "$PERF/summarize.py" "$OUT" | tee "$OUT/summary.md"
