#!/usr/bin/env bash
# Runs a command as one rank of a simulated multi-node job: the rank's node is
# rank / RANKS_PER_NODE; it gets CAIRN_FAILURE_DOMAIN=<DOMAIN_PREFIX><node> and its own
# node-local scratch <NODES_DIR>/node<node>/scratch (env: RANKS_PER_NODE, NODES_DIR,
# DOMAIN_PREFIX). This is how the redundancy tests simulate nodes on one machine.
rank=${OMPI_COMM_WORLD_RANK:?not under mpirun}
node=$((rank / ${RANKS_PER_NODE:-2}))
export CAIRN_FAILURE_DOMAIN=${DOMAIN_PREFIX:-node}$node
export CAIRN_SCRATCH=${NODES_DIR:?}/node$node/scratch
exec "$@"
