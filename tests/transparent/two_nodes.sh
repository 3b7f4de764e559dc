#!/usr/bin/env bash
# A job over two nodes (label "transparent"): its two processes, a TCP server and its client
# (programs/tree/node_peer.c), run on two simulated nodes, each a Linux network namespace with
# its own address, joined by a veth pair. Each node has its own node-local checkpoint
# directory (WORK/nodeA, WORK/nodeB); the job directory WORK/job is shared, and holds the job
# manifests. Shows that a checkpoint of the job commits one manifest for both nodes, and that
# after the loss of both nodes (every process on them killed with -9: the programs, the node
# agents, the coordinator) the job restarts on two new nodes with other addresses, its TCP
# connection moved to the new addresses, twice, and ends as an uninterrupted run does.
#
#   two_nodes.sh CAIRN PROGRAMS_DIR WORK
#
#   reference: server and client in a namespace of their own over 127.0.0.1, uninterrupted;
#   generation 1: nodes 10.213.1.1 (server, --node 0) and 10.213.1.2 (client, --node 1),
#     `cairn launch` on each; ~1.5 s; `cairn checkpoint --ckpt-dir WORK/job` (job.v1.manifest);
#     0.3 s; both nodes fail (kill -9), their namespaces are deleted;
#   generation 2: new namespaces at 10.213.2.x, `cairn restart` on each; once restored, the
#     connection must be established between 10.213.2.1:7000 and 10.213.2.2; checkpoint
#     (job.v2.manifest), 0.3 s, both nodes fail again;
#   generation 3: new namespaces at 10.213.3.x, `cairn restart` on each, run to the end.
# Passes when both restarts of generation 3 exit 0, their stdout equals the reference's
# (nothing was printed before: the programs print only at their end) and no process mentioning
# WORK is left 5 s after the end. Skipped (status 77) unless run as root on a system where
# `ip netns add` and veth pairs work. Every wait is bounded.
#
# TWO_NODES_LEVELS=1: the nodes run through cairn's levels (launch/restart --config FILE
# --name job, issue 12): each node's images on its own node-local scratch (WORK/scratchA,
# WORK/scratchB, by CAIRN_SCRATCH), its agent having the node's backend flush each commit to
# the shared WORK/persist/job.node<N>. After generation 1, node B's scratch is wiped: node B
# restarts from persistent, node A from its scratch, and node B's next checkpoint must be
# numbered on from persistent's (job.node1/job.v2.manifest). After generation 2 both scratches
# are wiped: generation 3 restarts both nodes from persistent.
#
# TWO_NODES_L2=partner|xor|rs (implies TWO_NODES_LEVELS): the levels have ec_scheme set, each
# node is a failure domain of its own (CAIRN_FAILURE_DOMAIN), and after each commit the node
# agents encode the nodes' parts across the two nodes (NODE_DIR/l2.v<N>.ec). After generation
# 1, node B loses its scratch AND its persistent copy: it restarts with its part rebuilt from
# node A's .ec. After generation 2, node A loses both the same way and is rebuilt from node
# B's. Every restart is then from scratch, never from persistent.
#
# TWO_NODES_NO_CAIRN=1 runs the same generations without cairn (each generation starts the
# programs afresh on its nodes, no checkpoint): a check of the network plumbing and of this
# script. TWO_NODES_KEEP=1 keeps WORK after a pass.
set -u
abspath() { case "$1" in /*) echo "$1" ;; *) echo "$PWD/$1" ;; esac; }
CAIRN=$(abspath "$1") PROGDIR=$(abspath "$2") WORK=$(abspath "$3")
PROG=$PROGDIR/node_peer
PORT=7000
NO_CAIRN=${TWO_NODES_NO_CAIRN:-}
LEVELS=${TWO_NODES_LEVELS:-}
L2=${TWO_NODES_L2:-}
[ -n "$L2" ] && LEVELS=1
# The nodes' checkpoint directories (with levels: <scratch>/<name>.node<N>).
if [ -n "$LEVELS" ]; then
  NODE_DIR_A=$WORK/scratchA/job.node0 NODE_DIR_B=$WORK/scratchB/job.node1
  export CAIRN_RUNTIME_DIR=$WORK/run  # this test's own backends (killed with the nodes)
else
  NODE_DIR_A=$WORK/nodeA NODE_DIR_B=$WORK/nodeB
fi
ID=$$
START=$(date +%s%N)
# A line of progress, with the seconds since the start.
say() {
  local ms=$((($(date +%s%N) - START) / 1000000))
  printf '[%3d.%d s] %s\n' $((ms / 1000)) $((ms % 1000 / 100)) "$*"
}

# Names of generation $1's namespaces and veth ends (at most 15 characters: "c2v4194304a3").
ns_a() { echo "c2n${ID}a$1"; }
ns_b() { echo "c2n${ID}b$1"; }
veth_a() { echo "c2v${ID}a$1"; }
veth_b() { echo "c2v${ID}b$1"; }
addr_a() { echo "10.213.$1.1"; }
addr_b() { echo "10.213.$1.2"; }

NETNSES=''  # every namespace this script created (and has not deleted yet)
VETHS=''    # every veth end it created
BG=''       # the background processes it started

# Processes (not this script nor its subshells) whose command line contains WORK and every
# other argument.
procs_mentioning() {
  local f p w ok
  # shellcheck disable=SC2013  # /proc/N/cmdline: no blanks
  for f in $(grep -lsF -- "$WORK" /proc/[0-9]*/cmdline); do
    p=${f#/proc/} && p=${p%/cmdline}
    [ "$p" = "$$" ] && continue
    [ -r "$f" ] || continue                        # gone (the grep above itself, say)
    cmp -s "$f" "/proc/$$/cmdline" && continue     # this script's subshells
    ok=1
    for w in "$@"; do grep -qsF -- "$w" "$f" || ok=; done
    [ -n "$ok" ] && echo "$p"
  done
}
# Every descendant of $1, deepest first, then $1.
tree_of() {
  local c
  for c in $(pgrep -P "$1"); do tree_of "$c"; done
  echo "$1"
}
# Whether process $1 runs (exists and is no zombie).
running() {
  local st
  st=$(awk '{ print $3 }' "/proc/$1/stat" 2> /dev/null) || return 1
  [ -n "$st" ] && [ "$st" != Z ]
}
# Waits up to $2 seconds for background process $1 to end; returns its status, 124 if it
# still runs.
wait_bounded() {
  local _
  for _ in $(seq $(($2 * 10))); do
    running "$1" || break
    sleep 0.1
  done
  running "$1" && return 124
  wait "$1" 2> /dev/null
}
# Kills every process in the given namespaces, below the background processes, and mentioning
# WORK: stopped first (none sees another die), then kill -9; waits up to 5 s until they are gone.
kill_all() {
  local victims='' p ns _
  for ns in "$@"; do victims="$victims $(ip netns pids "$ns" 2> /dev/null)"; done
  for p in $BG; do victims="$victims $(tree_of "$p")"; done
  victims="$victims $(procs_mentioning)"
  victims=$(echo "$victims" | tr ' ' '\n' | grep -E '^[0-9]+$' | grep -vx "$$" | sort -un)
  [ -n "$victims" ] || return 0
  # shellcheck disable=SC2086
  kill -STOP $victims 2> /dev/null
  # shellcheck disable=SC2086
  kill -9 $victims 2> /dev/null
  for p in $BG; do wait "$p" 2> /dev/null; done
  BG=''
  for p in $victims; do
    for _ in $(seq 50); do
      running "$p" || break
      sleep 0.1
    done
  done
  return 0
}
# Deletes the namespaces of generation $1 (their veth pair goes with them).
drop_nodes() {
  local ns
  for ns in $(ns_a "$1") $(ns_b "$1"); do
    ip netns del "$ns" 2> /dev/null
    NETNSES=$(echo "$NETNSES" | tr ' ' '\n' | grep -vx "$ns" | tr '\n' ' ')
  done
  return 0
}
cleanup() {
  local ns v
  # shellcheck disable=SC2086
  kill_all $NETNSES
  for ns in $NETNSES; do ip netns del "$ns" 2> /dev/null; done
  for v in $VETHS; do
    ip link show "$v" > /dev/null 2>&1 && ip link del "$v" 2> /dev/null
  done
  return 0
}
trap cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT
skip() {
  echo "SKIP (two_nodes): $*"
  exit 77
}
fail() {
  local f
  echo "FAIL (two_nodes): $*" >&2
  for f in "$WORK"/*.err "$NODE_DIR_A"/.cairn/*.log "$NODE_DIR_B"/.cairn/*.log \
    "$WORK"/job/.cairn/*.log; do
    [ -s "$f" ] && { echo "--- $f:"; tail -n 30 "$f"; } >&2
  done
  exit 1
}

# Creates generation $1's two nodes: namespaces A and B, a veth pair between them, A at
# 10.213.$1.1/24 and B at 10.213.$1.2/24, lo and both veth ends up.
make_nodes() {
  local g=$1 a b va vb
  a=$(ns_a "$g") b=$(ns_b "$g") va=$(veth_a "$g") vb=$(veth_b "$g")
  ip netns add "$a" || return 1
  NETNSES="$NETNSES $a"
  ip netns add "$b" || return 1
  NETNSES="$NETNSES $b"
  ip link add "$va" type veth peer name "$vb" || return 1
  VETHS="$VETHS $va $vb"
  ip link set "$va" netns "$a" && ip link set "$vb" netns "$b" &&
    ip -n "$a" addr add "$(addr_a "$g")/24" dev "$va" &&
    ip -n "$b" addr add "$(addr_b "$g")/24" dev "$vb" &&
    ip -n "$a" link set lo up && ip -n "$b" link set lo up &&
    ip -n "$a" link set "$va" up && ip -n "$b" link set "$vb" up
}
# Whether generation $1's nodes see the connection between A:PORT and B on both ends.
connected() {
  local g=$1 ip_a ip_b
  ip_a=$(addr_a "$g" | sed 's/\./\\./g') ip_b=$(addr_b "$g" | sed 's/\./\\./g')
  ip netns exec "$(ns_a "$g")" ss -tnH state established |
    grep -Eq "(^|[[:space:]])$ip_a:${PORT}[[:space:]]+$ip_b:[0-9]+([[:space:]]|\$)" &&
    ip netns exec "$(ns_b "$g")" ss -tnH state established |
    grep -Eq "(^|[[:space:]])$ip_b:[0-9]+[[:space:]]+$ip_a:${PORT}([[:space:]]|\$)"
}
# Waits up to 20 s for generation $1's connection; fails saying what the nodes see.
wait_connected() {
  local _
  for _ in $(seq 200); do
    connected "$1" && return 0
    check_alive "$1"
    sleep 0.1
  done
  fail "generation $1: no established connection $(addr_a "$1"):$PORT <-> $(addr_b "$1") after 20 s;" \
    "node A sees: $(ip netns exec "$(ns_a "$1")" ss -tanH | tr '\n' ';')" \
    "node B sees: $(ip netns exec "$(ns_b "$1")" ss -tanH | tr '\n' ';')"
}
SERVER_PID='' CLIENT_PID=''
# Fails when a node's process of generation $1 ended.
check_alive() {
  running "$SERVER_PID" || { wait "$SERVER_PID"; fail "generation $1: node A's process ended (status $?)"; }
  running "$CLIENT_PID" || { wait "$CLIENT_PID"; fail "generation $1: node B's process ended (status $?)"; }
}

# Starts generation $1's processes on its nodes: `cairn launch` (generation 1), `cairn restart`
# (later ones), or the programs themselves (TWO_NODES_NO_CAIRN).
start_nodes() {
  local g=$1 a b
  a=$(ns_a "$g") b=$(ns_b "$g")
  local sv=("$PROG" server "$WORK/wa" "$PORT") cl=("$PROG" client "$WORK/wb" "$(addr_a "$g")" "$PORT")
  local ca=(--job-dir "$WORK/job" --node 0 --nodes 2 --node-address "$(addr_a "$g")")
  local cb=(--job-dir "$WORK/job" --node 1 --nodes 2 --node-address "$(addr_b "$g")")
  local ea=() eb=()
  if [ -n "$LEVELS" ]; then
    ca+=(--config "$WORK/levels.cfg" --name job) cb+=(--config "$WORK/levels.cfg" --name job)
    ea=(env "CAIRN_SCRATCH=$WORK/scratchA" CAIRN_FAILURE_DOMAIN=nodeA)
    eb=(env "CAIRN_SCRATCH=$WORK/scratchB" CAIRN_FAILURE_DOMAIN=nodeB)
  else
    ca+=(--ckpt-dir "$NODE_DIR_A") cb+=(--ckpt-dir "$NODE_DIR_B")
  fi
  if [ -n "$NO_CAIRN" ]; then
    ip netns exec "$a" "${sv[@]}" > "$WORK/server.$g.out" 2> "$WORK/server.$g.err" &
    SERVER_PID=$!
    ip netns exec "$b" "${cl[@]}" > "$WORK/client.$g.out" 2> "$WORK/client.$g.err" &
    CLIENT_PID=$!
  elif [ "$g" = 1 ]; then
    ip netns exec "$a" "${ea[@]}" "$CAIRN" launch "${ca[@]}" -- "${sv[@]}" \
      > "$WORK/server.$g.out" 2> "$WORK/server.$g.err" &
    SERVER_PID=$!
    ip netns exec "$b" "${eb[@]}" "$CAIRN" launch "${cb[@]}" -- "${cl[@]}" \
      > "$WORK/client.$g.out" 2> "$WORK/client.$g.err" &
    CLIENT_PID=$!
  else
    ip netns exec "$a" "${ea[@]}" "$CAIRN" restart "${ca[@]}" > "$WORK/server.$g.out" \
      2> "$WORK/server.$g.err" &
    SERVER_PID=$!
    ip netns exec "$b" "${eb[@]}" "$CAIRN" restart "${cb[@]}" > "$WORK/client.$g.out" \
      2> "$WORK/client.$g.err" &
    CLIENT_PID=$!
  fi
  BG="$SERVER_PID $CLIENT_PID"
}
# Waits up to 20 s until both nodes' processes of generation $1 run under cairn: a control
# socket of the launched program (generation 1), a restored process answering `cairn status`
# (restarts).
wait_started() {
  local g=$1 _ node ns ok dir
  [ -n "$NO_CAIRN" ] && return 0
  for _ in $(seq 200); do
    ok=1
    for node in A B; do
      if [ "$node" = A ]; then ns=$(ns_a "$g") dir=$NODE_DIR_A; else ns=$(ns_b "$g") dir=$NODE_DIR_B; fi
      if [ "$g" = 1 ]; then
        compgen -G "$dir/.cairn/*.sock" > /dev/null || ok=
      else
        ip netns exec "$ns" "$CAIRN" status --ckpt-dir "$dir" --json 2> /dev/null |
          grep -q '"restored": true' || ok=
      fi
    done
    [ -n "$ok" ] && return 0
    check_alive "$g"
    sleep 0.1
  done
  fail "generation $g: the nodes' processes did not start under cairn within 20 s"
}
# Checkpoints the job from node A of generation $1; job.v$1.manifest must be committed.
checkpoint() {
  local g=$1 rc
  [ -n "$NO_CAIRN" ] && return 0
  timeout -s KILL 60 ip netns exec "$(ns_a "$g")" "$CAIRN" checkpoint --ckpt-dir "$WORK/job" \
    > "$WORK/ckpt.$g.out" 2> "$WORK/ckpt.$g.err"
  rc=$?
  [ "$rc" = 0 ] || fail "generation $g: cairn checkpoint exited with status $rc"
  [ -f "$WORK/job/job.v$g.manifest" ] ||
    fail "generation $g: no $WORK/job/job.v$g.manifest after the checkpoint: $(ls "$WORK/job")"
  say "generation $g: checkpoint committed job.v$g.manifest"
  [ -n "$LEVELS" ] || return 0
  # Each node's agent has its backend flush its part to persistent, in the background.
  local n _
  for n in 0 1; do
    for _ in $(seq 300); do
      [ -f "$WORK/persist/job.node$n/job.v$g.manifest" ] && break
      sleep 0.1
    done
    [ -f "$WORK/persist/job.node$n/job.v$g.manifest" ] ||
      fail "generation $g: node $n's job.v$g.manifest is not on persistent after 30 s:" \
        "$(ls "$WORK/persist/job.node$n" 2> /dev/null | tr '\n' ' ')"
  done
  say "generation $g: both nodes' parts flushed to persistent"
  [ -n "$L2" ] || return 0
  local d
  for d in "$NODE_DIR_A" "$NODE_DIR_B"; do
    for _ in $(seq 300); do
      [ -f "$d/l2.v$g.ec" ] && break
      sleep 0.1
    done
    [ -f "$d/l2.v$g.ec" ] || fail "generation $g: no $d/l2.v$g.ec after 30 s: $(ls "$d" | tr '\n' ' ')"
  done
  say "generation $g: both nodes' parts protected by $L2 ($(stat -c %s "$NODE_DIR_A/l2.v$g.ec")" \
    "and $(stat -c %s "$NODE_DIR_B/l2.v$g.ec") bytes)"
}
# Both nodes of generation $1 fail: every process on them dies (kill -9), with the node agents
# and the coordinator; the namespaces go.
fail_nodes() {
  local g=$1 f
  check_alive "$g"
  say "generation $g: nodes fail (agents: $(procs_mentioning node-agent | wc -l)," \
    "coordinators: $(procs_mentioning coordinator | wc -l))"
  kill_all "$(ns_a "$g")" "$(ns_b "$g")"
  drop_nodes "$g"
  for f in "$WORK/server.$g.out" "$WORK/client.$g.out"; do
    [ -s "$f" ] && fail "generation $g: output before the end in $f: $(head -n 3 "$f")"
  done
  return 0
}

# --- Preconditions.
[ "$(id -u)" = 0 ] || skip "needs root (network namespaces, veth pairs)"
{ command -v ip && command -v ss; } > /dev/null || skip "needs ip and ss (iproute2)"
[ -x "$PROG" ] || fail "no program $PROG"
[ -n "$NO_CAIRN" ] || [ -x "$CAIRN" ] || fail "no cairn at $CAIRN"
rm -rf "$WORK"
mkdir -p "$WORK/wa" "$WORK/wb" "$WORK/ref" "$WORK/job" || fail "cannot create $WORK"
if [ -n "$LEVELS" ]; then
  mkdir -p "$WORK/run" && chmod 0700 "$WORK/run" || fail "cannot create $WORK/run"
  cat > "$WORK/levels.cfg" << CFG || fail "cannot write $WORK/levels.cfg"
scratch = $WORK/scratch-unused
persistent = $WORK/persist
scratch_versions = 2
max_versions = 2
backend_idle_timeout = 3
CFG
  [ -z "$L2" ] || echo "ec_scheme = $L2" >> "$WORK/levels.cfg"
else
  mkdir -p "$NODE_DIR_A" "$NODE_DIR_B" || fail "cannot create the node directories"
fi
make_nodes 1 2> "$WORK/netns.err" ||
  skip "cannot create network namespaces and a veth pair: $(tr '\n' ' ' < "$WORK/netns.err")"

# --- The reference: an uninterrupted run over loopback, in a namespace of its own.
REF=c2n${ID}r
ip netns add "$REF" || fail "cannot create namespace $REF"
NETNSES="$NETNSES $REF"
ip -n "$REF" link set lo up || fail "cannot set lo up in $REF"
ip netns exec "$REF" "$PROG" server "$WORK/ref" "$PORT" > "$WORK/ref.server.out" \
  2> "$WORK/ref.server.err" &
REF_SERVER=$!
ip netns exec "$REF" "$PROG" client "$WORK/ref" 127.0.0.1 "$PORT" > "$WORK/ref.client.out" \
  2> "$WORK/ref.client.err" &
REF_CLIENT=$!
BG="$REF_SERVER $REF_CLIENT"
wait_bounded "$REF_CLIENT" 60
rc=$?
[ "$rc" = 0 ] || fail "the reference client exited with status $rc"
wait_bounded "$REF_SERVER" 10
rc=$?
[ "$rc" = 0 ] || fail "the reference server exited with status $rc"
BG=''
ip netns del "$REF"
NETNSES=$(echo "$NETNSES" | tr ' ' '\n' | grep -vx "$REF" | tr '\n' ' ')
{ [ -s "$WORK/ref.server.out" ] && [ -s "$WORK/ref.client.out" ]; } ||
  fail "the reference printed nothing"
say "reference: $(cat "$WORK/ref.server.out") / $(cat "$WORK/ref.client.out")"

# --- Generations 1 and 2: run, checkpoint, lose both nodes.
for g in 1 2; do
  [ "$g" = 1 ] || make_nodes "$g" || fail "cannot create the nodes of generation $g"
  start_nodes "$g"
  wait_started "$g"
  say "generation $g: both nodes run ($(addr_a "$g"), $(addr_b "$g"))"
  wait_connected "$g"
  say "generation $g: connected $(addr_a "$g"):$PORT <-> $(addr_b "$g")"
  sleep "$([ "$g" = 1 ] && echo 1.5 || echo 1)"
  checkpoint "$g"
  sleep 0.3
  fail_nodes "$g"
  if [ -n "$L2" ]; then  # B's scratch and persistent copy lost after 1, A's after 2
    lost=$([ "$g" = 1 ] && echo B || echo A) n=$([ "$g" = 1 ] && echo 1 || echo 0)
    rm -rf "$WORK/scratch$lost" "$WORK/persist/job.node$n"
    say "generation $g: node $lost's scratch and persistent copy wiped"
  elif [ -n "$LEVELS" ]; then  # node-local storage lost: B's after 1, both after 2
    rm -rf "$WORK/scratchB"
    [ "$g" = 2 ] && rm -rf "$WORK/scratchA"
    say "generation $g: node-local scratch wiped ($([ "$g" = 1 ] && echo B || echo A and B))"
  fi
  if [ -n "$L2" ] && [ "$g" = 2 ]; then
    grep -q "rebuilt" "$WORK/client.2.err" ||
      fail "generation 2: node B's part was not rebuilt from L2: $(grep -i 'l2\|rebuil\|checkpoint' "$WORK/client.2.err")"
    grep -q "from $NODE_DIR_B/job.v1.manifest" "$WORK/client.2.err" ||
      fail "generation 2: node B did not restart from its rebuilt scratch: $(grep checkpoint "$WORK/client.2.err")"
  elif [ -n "$LEVELS" ] && [ "$g" = 2 ]; then
    grep -q "from $WORK/persist/job.node1/job.v1.manifest" "$WORK/client.2.err" ||
      fail "generation 2: node B did not restart from persistent: $(grep checkpoint "$WORK/client.2.err")"
    grep -q "from $NODE_DIR_A/job.v1.manifest" "$WORK/server.2.err" ||
      fail "generation 2: node A did not restart from its scratch: $(grep checkpoint "$WORK/server.2.err")"
  fi
done

# --- Generation 3: restart and run to the end.
make_nodes 3 || fail "cannot create the nodes of generation 3"
start_nodes 3
say "generation 3: started ($(addr_a 3), $(addr_b 3)), runs to the end"
wait_bounded "$CLIENT_PID" 60
rc=$?
[ "$rc" = 0 ] || fail "generation 3: node B (client) exited with status $rc"
if [ -n "$L2" ]; then
  grep -q "rebuilt" "$WORK/server.3.err" ||
    fail "generation 3: node A's part was not rebuilt from L2: $(grep -i 'l2\|rebuil\|checkpoint' "$WORK/server.3.err")"
  for side in server client; do
    d=$([ "$side" = server ] && echo "$NODE_DIR_A" || echo "$NODE_DIR_B")
    grep -q "from $d/job.v2.manifest" "$WORK/$side.3.err" ||
      fail "generation 3: the $side did not restart from its scratch: $(grep checkpoint "$WORK/$side.3.err")"
  done
elif [ -n "$LEVELS" ]; then
  for side in server client; do
    n=$([ "$side" = server ] && echo 0 || echo 1)
    grep -q "from $WORK/persist/job.node$n/job.v2.manifest" "$WORK/$side.3.err" ||
      fail "generation 3: node $n did not restart from persistent: $(grep checkpoint "$WORK/$side.3.err")"
  done
fi
wait_bounded "$SERVER_PID" 20
rc=$?
[ "$rc" = 0 ] || fail "generation 3: node A (server) exited with status $rc"
BG=''
for side in server client; do
  diff "$WORK/ref.$side.out" "$WORK/$side.3.out" > /dev/null ||
    fail "the $side's output differs from the uninterrupted run's:" \
      "$(diff "$WORK/ref.$side.out" "$WORK/$side.3.out")"
done
left=''
for _ in $(seq 50); do
  left=$(procs_mentioning)
  [ -z "$left" ] && break
  sleep 0.1
done
if [ -n "$left" ]; then
  fail "processes left 5 s after the end: $(for p in $left; do
    echo "$p: $(tr '\0' ' ' 2> /dev/null < "/proc/$p/cmdline")"
  done)"
fi
drop_nodes 3
say "two_nodes: $(cat "$WORK/server.3.out") / $(cat "$WORK/client.3.out")"
[ -n "${TWO_NODES_KEEP:-}" ] || rm -rf "$WORK"
echo "PASS (two_nodes)"
