#!/usr/bin/env bash
# slurm.sh — jobs/brgflow.slurm under a real Slurm (issue 11): a one-node
# cluster on 127.0.0.1 (munged, slurmctld -D, slurmd -D, from a slurm.conf
# written into a fresh temporary folder; stopped by their PIDs at exit, also
# when a check fails), and
#  1. the main job (inputs/cosnet_erg.ini, 2 tasks) through sbatch: the same
#     result as under mpirun;
#  2. a 120-step flow whose job hits its 1-minute time limit mid-flow: the
#     warning signal (B:USR1) stops brgflow at a checkpoint, the job requeues
#     itself and continues; the result equals an uninterrupted run's;
#  3. a running job requeued from outside (scontrol requeue, as preemption
#     does): it continues and ends equal;
#  4. a job that makes no progress (every restart refused: its input differs
#     from the checkpoint's) stops requeueing after BRGFLOW_MAX_RESTARTS;
#  5. a bad input with no checkpoint fails once and is not requeued.
# Slurm and munge are installed by tools/install-deps.sh when missing.  If
# they cannot be installed or started (not root, no package archive), every
# check is skipped -- except under CI=true, where that is a failure.
# Costs about 4 minutes, mostly waiting for Slurm: its time limits are whole
# minutes, checked about every 30 s.
set -u
cd "$(dirname "$0")/../.."
. tests/mpi/common.sh
dir="$OUT/slurm"; rm -rf "$dir"; mkdir -p "$dir"
t_start=$(date +%s)
# The test's own cluster, whatever Slurm job this script may run inside.
for v in $(compgen -e | grep '^SLURM_'); do unset "$v"; done

# 1 (cluster) + 8 (main job) + 1 (uninterrupted flow) + 11 (time limit)
# + 6 (outside requeue) + 4 (no progress) + 2 (bad input)
CHECKS=33

# --- the cluster ----------------------------------------------------------
tmp= munge_pid= ctld_pid= slurmd_pid= ref_pid=
stepds() { # PIDs of this cluster's slurmstepd processes
  local e
  [ -n "$tmp" ] || return 0
  for e in /proc/[0-9]*/environ; do
    [ "$(cat "${e%environ}comm" 2>/dev/null)" = slurmstepd ] &&
      tr '\0' '\n' 2>/dev/null < "$e" | grep -qx "SLURM_CONF=$tmp/slurm.conf" &&
      e=${e#/proc/} && echo "${e%/environ}"
  done
}
cluster_stop() { # cancel what is left, then the daemons, by their PIDs
  [ -n "$ref_pid" ] && kill "$ref_pid" 2>/dev/null
  if [ -n "$ctld_pid" ] && kill -0 "$ctld_pid" 2>/dev/null; then
    scancel --quiet --user="$(id -un)" 2>/dev/null
    for _ in $(seq 60); do [ -z "$(squeue -h 2>/dev/null)" ] && break; sleep 1; done
  fi
  # the job steps' slurmstepd (theirs: SLURM_CONF names this cluster) end
  # once their jobs have; then the daemons, one after the other (slurmd
  # reports to slurmctld, both use munged)
  local p
  for _ in $(seq 20); do [ -z "$(stepds)" ] && break; sleep 0.5; done
  for p in $(stepds); do kill -9 "$p" 2>/dev/null; done
  for p in $slurmd_pid $ctld_pid $munge_pid; do
    kill "$p" 2>/dev/null
    for _ in $(seq 20); do kill -0 "$p" 2>/dev/null || break; sleep 0.5; done
    kill -9 "$p" 2>/dev/null
  done
  [ -n "$tmp" ] && rm -rf "$tmp"
  tmp= munge_pid= ctld_pid= slurmd_pid= ref_pid=
}
trap cluster_stop EXIT
trap 'exit 130' INT # so that the EXIT trap also runs on ^C or a harness's SIGTERM
trap 'exit 143' TERM

why_not=
cluster_start() { # sets why_not on failure
  if [ "$(id -u)" -ne 0 ]; then why_not="not root: slurmd runs jobs as root here"; return 1; fi
  if ! command -v slurmctld > /dev/null || ! command -v munged > /dev/null; then
    bash tools/install-deps.sh > "$dir/install.log" 2>&1 ||
      { why_not="tools/install-deps.sh failed (see $dir/install.log)"; return 1; }
  fi
  local c
  for c in munged mungekey slurmctld slurmd sbatch scontrol squeue; do
    command -v "$c" > /dev/null || { why_not="$c not found after tools/install-deps.sh"; return 1; }
  done
  # munged wants its socket folder searchable by all, its key private.
  tmp=$(mktemp -d /tmp/brgflow-slurm.XXXXXX) && chmod 755 "$tmp" || return 1
  mkdir -p "$tmp/state" "$tmp/spool"
  mungekey --create --keyfile="$tmp/munge.key" 2> "$tmp/mungekey.log" ||
    { why_not="mungekey failed: $(cat "$tmp/mungekey.log")"; return 1; }
  munged -F --socket="$tmp/munge.socket" --key-file="$tmp/munge.key" \
    --pid-file="$tmp/munged.pid" --log-file="$tmp/munged.log" \
    --seed-file="$tmp/munged.seed" > "$tmp/munged.out" 2>&1 &
  munge_pid=$!
  local ports
  ports=$(/usr/bin/python3 -c 'import socket
s = [socket.socket() for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(*[x.getsockname()[1] for x in s])') || { why_not="no free ports"; return 1; }
  set -- $ports
  # Measured on Debian 12 (Slurm 22.05, no cgroups, no systemd): proctrack/
  # linuxproc and task/none work; cred_expire=5 and 2-s scheduler passes
  # start a requeued job in ~6 s instead of ~2 minutes.
  cat > "$tmp/slurm.conf" << EOF
ClusterName=brgflowtest
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=$1
SlurmdPort=$2
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$tmp/munge.socket,cred_expire=5
StateSaveLocation=$tmp/state
SlurmdSpoolDir=$tmp/spool
SlurmctldPidFile=$tmp/slurmctld.pid
SlurmdPidFile=$tmp/slurmd.pid
SlurmctldLogFile=$tmp/slurmctld.log
SlurmdLogFile=$tmp/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
MailProg=/bin/true
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=2,bf_interval=2
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
NodeName=localhost NodeAddr=127.0.0.1 CPUs=2 State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF
  export SLURM_CONF="$tmp/slurm.conf"
  for _ in $(seq 50); do [ -S "$tmp/munge.socket" ] && break; sleep 0.1; done
  [ -S "$tmp/munge.socket" ] || { why_not="munged did not start: $(tail -1 "$tmp/munged.out")"; return 1; }
  slurmctld -D -i -f "$SLURM_CONF" > "$tmp/slurmctld.out" 2>&1 &
  ctld_pid=$!
  slurmd -D -N localhost -f "$SLURM_CONF" > "$tmp/slurmd.out" 2>&1 &
  slurmd_pid=$!
  for _ in $(seq 60); do
    [ "$(sinfo -h -n localhost -o %t 2>/dev/null)" = idle ] && return 0
    sleep 0.5
  done
  why_not="the node did not come up idle in 30 s: $(tail -2 "$tmp/slurmctld.out" "$tmp/slurmd.out" | tr '\n' ' ')"
  return 1
}

if ! cluster_start; then
  if [ "${CI:-}" = true ]; then
    plan 1; trap 'bf_rc=$?; cluster_stop; (exit $bf_rc); bf_on_exit' EXIT
    notok "a one-node Slurm cluster starts (CI=true): $why_not"; finish
  fi
  plan 0; trap 'bf_rc=$?; cluster_stop; (exit $bf_rc); bf_on_exit' EXIT
  echo "skip - all $CHECKS checks: $why_not"
  finish
fi
plan $CHECKS
trap 'bf_rc=$?; cluster_stop; (exit $bf_rc); bf_on_exit' EXIT
ok "one-node cluster on 127.0.0.1 up: $(sinfo -h -o '%P %D %c %t' | tr -s ' ')"

# --- helpers ----------------------------------------------------------------
submit() { # log, sbatch options and script arguments: prints the job ID
  local log=$1; shift
  sbatch --parsable --output="$log" "$@" | cut -d';' -f1
}
wait_job() { # job ID, limit (s): until it has left the queue
  local t=0
  while [ -n "$(squeue -h -j "$1" 2>/dev/null)" ]; do
    sleep 2; t=$((t + 2))
    if [ "$t" -ge "$2" ]; then echo "    job $1 still queued after $2 s: cancelled"; scancel "$1"; return 1; fi
  done
}
job_field() { # job ID, field of `scontrol show job` (JobState, ExitCode, Restarts)
  scontrol show job "$1" 2>/dev/null | tr ' ' '\n' | sed -n "s/^$2=//p" | head -1
}
check_end() { # description, job ID, expected JobState:ExitCode (e.g. COMPLETED:0:0)
  local got note=; got="$(job_field "$2" JobState):$(job_field "$2" ExitCode)"
  [ "$got" = "$3" ] || note=" (it ended $got)"
  check "$1: ends $3$note" test "$got" = "$3"
}
segments() { grep -c "^brgflow.slurm .*segment" "$1"; } # of a job's log
report() { # what, log, seconds: the job's wall time, segments, requeue delays
  echo "    $1: $3 s, segments: $(segments "$2"), requeue delays (s): $(requeue_delays "$2")"
}
same_as() { # reference, result, datasets...
  local ref=$1 res=$2 ds; shift 2
  for ds in "$@"; do check "$(basename "$res"): $ds equals the mpirun run" "$H5CMP" "$ref" "$res" "$ds" 1e-12; done
}
epoch() { date -d "$1" +%s; } # of a brgflow.slurm log time stamp
# time stamps of the job script's log lines matching a pattern
stamps() { sed -n "s/^brgflow.slurm \[\([^]]*\)\]: .*\($1\).*/\1/p" "$2"; }
requeue_delays() { # log: seconds from the end of each segment to the next one's start
  local a b
  paste -d'|' <(stamps "brgflow ended" "$1") <(stamps "SLURM_RESTART_COUNT=[1-9]" "$1") |
    while IFS='|' read -r a b; do [ -n "$a" ] && [ -n "$b" ] && echo -n "$(( $(epoch "$b") - $(epoch "$a") )) "; done
}

# --- 1. the main job --------------------------------------------------------
MAIN_DS="/erg/G2 /erg/Gq /erg/m_eff /brg/test_mse /brg/pred_mean /fisher/diag"
mpirun --oversubscribe -np 2 "$BIN" run inputs/cosnet_erg.ini --set run.output="$dir/main_mpirun.h5" \
  > "$dir/main_mpirun.log" 2>&1 &
ref_pid=$!
t0=$(date +%s)
j1=$(submit "$dir/main.log" -n 2 --time=10 jobs/brgflow.slurm inputs/cosnet_erg.ini \
  --set run.output="$dir/main.h5")
wait_job "$j1" 300
wait "$ref_pid"; ref_pid=
report "main job" "$dir/main.log" $(( $(date +%s) - t0 ))
check_end "main job" "$j1" COMPLETED:0:0
check "main job: 2 ranks under srun --mpi=pmix" grep -q "on 2 ranks" "$dir/main.log"
same_as "$dir/main_mpirun.h5" "$dir/main.h5" $MAIN_DS

# --- 2. and 3.: the time limit, and a requeue from outside ------------------
# 120 flow steps of ~0.7 s after a ~5 s metric: ~90 s on one core, longer
# than the 1-minute limit (the check on the uninterrupted run says so if
# this machine is fast enough to finish inside it).  One task each, so that
# both jobs and the uninterrupted reference run side by side on the node's
# two cores.
STEPS=120
FLOW=(inputs/cosnet_erg.ini --set brg.count=$STEPS)
FLOW_DS="/erg/G2 /erg/Gq /brg/test_mse /brg/pred_mean"
mpirun --oversubscribe -np 1 "$BIN" run "${FLOW[@]}" --set run.output="$dir/flow_mpirun.h5" \
  > "$dir/flow_mpirun.log" 2>&1 &
ref_pid=$!
t2=$(date +%s)
# --signal=B:USR1@10: Slurm checks every 30 s and signals at the first
# check with at most 10 + 30 s left, i.e. 20 to 50 s into the segment; the
# check that ends the job comes 30 s after that or later.
j2=$(submit "$dir/limit.log" -n 1 --time=1 --signal=B:USR1@10 jobs/brgflow.slurm "${FLOW[@]}" \
  --set run.output="$dir/limit.h5")
t3=$(date +%s)
j3=$(submit "$dir/outside.log" -n 1 --time=10 jobs/brgflow.slurm "${FLOW[@]}" \
  --set run.output="$dir/outside.h5")
# requeue job 3 from outside once it is in the flow stage, with checkpoints
for _ in $(seq 300); do grep -q "step 5/$STEPS" "$dir/outside.log" 2>/dev/null && break; sleep 1; done
scontrol requeue "$j3"; echo "    scontrol requeue $j3 at $(( $(date +%s) - t3 )) s into the job"
wait_job "$j3" 600; d3=$(( $(date +%s) - t3 ))
wait_job "$j2" 600; d2=$(( $(date +%s) - t2 ))
wait "$ref_pid"; ref_pid=
t_ref=$(grep -o "step $STEPS/$STEPS.*; [0-9.]* s" "$dir/flow_mpirun.log" | grep -o '[0-9.]*  *s$' | cut -d' ' -f1)
check "uninterrupted flow under mpirun, longer than the 1-minute limit (${t_ref:-?} s)" \
  test -f "$dir/flow_mpirun.h5" -a "$(printf %.0f "${t_ref:-0}")" -gt 60

n2=$(segments "$dir/limit.log")
report "time-limit job" "$dir/limit.log" "$d2"
check_end "time limit" "$j2" COMPLETED:0:0
check "time limit: the warning reached the job script, and brgflow stopped at a checkpoint" \
  grep -q "stop requested" "$dir/limit.log"
check "time limit: the job requeued itself (Restarts=$(job_field "$j2" Restarts))" \
  grep -q "stopped before the time limit with a checkpoint: requeueing job $j2" "$dir/limit.log"
check "time limit: restarted mid-flow (stage 2)" grep -q "restart from $dir/limit.h5.ckpt.h5: stage 2" "$dir/limit.log"
check "time limit: one log (appended) holds all $n2 segments, the first one too" \
  test "$n2" -ge 2 -a "$(grep -c "segment 1 (SLURM_RESTART_COUNT=0)" "$dir/limit.log")" -eq 1
check "time limit: checkpoints removed with the result" test ! -e "$dir/limit.h5.ckpt.h5" -a ! -e "$dir/limit.h5.ckpt.prev.h5"
check "time limit: restarts counted by Slurm ($(job_field "$j2" Restarts)) = segments - 1" \
  test "$(job_field "$j2" Restarts)" = $((n2 - 1))
same_as "$dir/flow_mpirun.h5" "$dir/limit.h5" $FLOW_DS

report "requeued job" "$dir/outside.log" "$d3"
check_end "outside requeue" "$j3" COMPLETED:0:0
check "outside requeue: the second segment continued from the checkpoint" \
  grep -q "restart from $dir/outside.h5.ckpt.h5: stage 2" "$dir/outside.log"
same_as "$dir/flow_mpirun.h5" "$dir/outside.h5" $FLOW_DS

# --- 4. no progress ---------------------------------------------------------
# A checkpoint of one input (a stale OUTPUT.stop stops at the first
# boundary), and a job whose input differs in a key that changes results:
# every restart is refused, the checkpoint never changes.
SMALL=(inputs/cosnet_erg.ini --set ensemble.members=1200 --set lattice.sites=12)
out4="$dir/stall.h5"
touch "$out4.stop"
mpi 1 "$BIN" run "${SMALL[@]}" --set run.output="$out4" > "$dir/stall_first.log" 2>&1
sum_before=$(md5sum < "$out4.ckpt.h5")
t4=$(date +%s)
j4=$(submit "$dir/stall.log" -n 1 --time=10 --export=ALL,BRGFLOW_MAX_RESTARTS=2 jobs/brgflow.slurm "${SMALL[@]}" \
  --set cosnet.mass=0.6 --set run.output="$out4")
wait_job "$j4" 200
n4=$(segments "$dir/stall.log")
report "no-progress job" "$dir/stall.log" $(( $(date +%s) - t4 ))
check_end "no progress: exit status 4" "$j4" FAILED:4:0
check "no progress: says so" grep -q "no progress: the checkpoint is unchanged over the last 2 restarts" "$dir/stall.log"
check "no progress: 2 futile restarts allowed, the third refused (segments $n4, Restarts=$(job_field "$j4" Restarts))" \
  test "$n4:$(job_field "$j4" Restarts)" = 4:3
check "no progress: the checkpoint is kept unchanged" test "$(md5sum < "$out4.ckpt.h5")" = "$sum_before"
grep "no progress" "$dir/stall.log" | sed 's/^/    /'

# --- 5. a bad input ---------------------------------------------------------
j5=$(submit "$dir/bad.log" -n 1 --time=5 jobs/brgflow.slurm inputs/cosnet_erg.ini \
  --set lattice.sites=-3 --set run.output="$dir/bad.h5")
wait_job "$j5" 120
check_end "bad input: exit status 1" "$j5" FAILED:1:0
check "bad input: not requeued (Restarts=$(job_field "$j5" Restarts))" test "$(job_field "$j5" Restarts)" = 0
grep "brgflow: error" "$dir/bad.log" | sed 's/^/    /'

echo "    slurm.sh: $(( $(date +%s) - t_start )) s in all"
finish
