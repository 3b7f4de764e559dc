#!/usr/bin/env bash
# L2 redundancy across simulated nodes (one scratch directory and failure domain per
# node, set per rank by node_env.sh): run the heat code to iteration HALF with
# checkpoints, wipe the scratch of some nodes (their ranks lose every file, like dead
# nodes), restart to ITERS and compare with an uninterrupted run.
#   redundancy.sh HEAT SCHEME NP RANKS_PER_NODE WIPE_NODES EXPECT [EXTRA...]
#     SCHEME      partner | xor | rs:K
#     WIPE_NODES  comma-separated node numbers whose scratch is wiped
#     EXPECT      rebuilt: restart from the newest version, lost files rebuilt
#                 l3:      too many losses, restart from persistent (same version)
#                 fresh:   too many losses and no persistent: nothing to restart
#     EXTRA       "rename": restart with other failure-domain names (replacement nodes)
#                 "async":  mode = async (the L2 encoding of a version runs at the next
#                           collective call, Checkpoint_end or Finalize)
IT_NAME=redundancy-${2//:/}-${5//,/_}-$6-${3}r${7:+-$7}
HEAT=$1
SCHEME=$2
export NP=$3
export RANKS_PER_NODE=$4
WIPE=$5
EXPECT=$6
EXTRA=${7:-}
source "$(dirname "$0")/common.sh"
make_tmp
export NODES_DIR=$T/nodes
NODE_ENV=$(dirname "$0")/node_env.sh
ARGS=(--nx 64 --ny 48 --iters 120 --ckpt-every 20)
HALF=(--nx 64 --ny 48 --iters 60 --ckpt-every 20)

scheme=${SCHEME%%:*}
k=${SCHEME#*:}
[ "$k" = "$SCHEME" ] && k=1
{
  echo "scratch = $T/unused"  # every rank overrides it with CAIRN_SCRATCH
  echo "ec_scheme = $scheme"
  echo "ec_parity = $k"
  echo "ec_set_size = 8"
  echo "scratch_versions = 2"
  if [ "$EXPECT" = l3 ]; then echo "persistent = $T/persistent"; fi
  if [ "$EXTRA" = async ]; then echo "mode = async"; echo "backend_idle_timeout = 2"; fi
} > "$T/cfg"
export CAIRN_RUNTIME_DIR=$T/run
mkdir -p "$CAIRN_RUNTIME_DIR"

printf 'scratch = %s/ref\n' "$T" > "$T/ref.cfg"
run_app "$T/ref.out" "$T/ref.err" 120 "$HEAT" "$T/ref.cfg" "${ARGS[@]}" || fail "reference run failed"
REF=$(result_of "$T/ref.out")
[ -n "$REF" ] || fail "reference run printed no RESULT"

run_app "$T/half.out" "$T/half.err" 120 "$NODE_ENV" "$HEAT" "$T/cfg" "${HALF[@]}" || fail "first half failed"
NEWEST=60
ec_files=$(find "$NODES_DIR" -path "*/v$NEWEST/*.ec" | wc -l)
[ "$ec_files" -eq "$NP" ] || fail "$ec_files redundancy files for version $NEWEST, want $NP"

for n in ${WIPE//,/ }; do
  rm -rf "$NODES_DIR/node$n/scratch"
  log "wiped node $n"
done
if [ "$EXTRA" = rename ]; then export DOMAIN_PREFIX=replacement; fi

run_app "$T/restart.out" "$T/restart.err" 180 "$NODE_ENV" "$HEAT" "$T/cfg" "${ARGS[@]}" ||
  fail "restart run failed"
check_stdout_clean "$T/restart.out"
GOT=$(result_of "$T/restart.out")
FROM=$(restarted_from "$T/restart.out")
case $EXPECT in
  rebuilt)
    [ "$FROM" = "$NEWEST" ] || fail "restarted from '$FROM', want $NEWEST (rebuilt from the set)"
    grep -q "rebuilt rank" "$T/restart.err" || fail "no rank reported a rebuild"
    # Every rank of a wiped node got its file back (later retention may remove it again).
    for n in ${WIPE//,/ }; do
      for r in $(seq $((n * RANKS_PER_NODE)) $((n * RANKS_PER_NODE + RANKS_PER_NODE - 1))); do
        grep -q "rebuilt rank $r's checkpoint 'heat' version $NEWEST" "$T/restart.err" ||
          fail "rank $r's version $NEWEST was not rebuilt into its scratch"
      done
    done
    ;;
  l3)
    [ "$FROM" = "$NEWEST" ] || fail "restarted from '$FROM', want $NEWEST from persistent"
    ;;
  fresh)
    grep -qx FRESH "$T/restart.out" || fail "expected a fresh start, got '$FROM'"
    ;;
esac
[ "$GOT" = "$REF" ] || fail "result $GOT differs from the uninterrupted $REF"
[ -z "$(tmp_files "$NODES_DIR")" ] || fail "temporary files left behind"
log "PASS: $SCHEME, $NP ranks on $((NP / RANKS_PER_NODE)) nodes, nodes {$WIPE} wiped: $EXPECT${EXTRA:+ ($EXTRA)}"
