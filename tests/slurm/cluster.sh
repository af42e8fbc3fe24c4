# The parts of a throw-away Slurm cluster, sourced by the Slurm tests (root only: the
# daemons run as root). Needs T (a temporary folder) set; SLURM_PIDS collects what started.
#
#   slurm_packages         installs slurmctld, slurmd, slurm-client and munge when missing
#   munge_up               starts munged with a fresh key, its socket in $T/munge
#   slurm_conf_head H A N...
#                          prints the settings every test cluster shares: the controller on
#                          host H at address A, free ports, state, spool, temporary (TmpFS, where
#                          PMIx puts its files), pid and log files under $T, per node (%n) for
#                          nodes N..., whose folders it makes; no accounting, backfill, CPUs as
#                          configured
#   slurm_stop             stops every daemon in SLURM_PIDS
#   job_state ID           waits up to 300 s for job ID to end, then prints its state

SLURM_PIDS=()

slurm_packages() {
  local missing=() pkg
  for pkg in slurmctld slurmd slurm-client munge; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  if ((${#missing[@]})); then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

munge_up() {
  mkdir -p "$T/munge" && chmod 700 "$T/munge"
  dd if=/dev/urandom of="$T/munge/munge.key" bs=1024 count=1 status=none
  chmod 400 "$T/munge/munge.key"
  munged --force --key-file="$T/munge/munge.key" --socket="$T/munge/munge.socket" \
    --pid-file="$T/munge/munged.pid" --log-file="$T/munge/munged.log" --seed-file="$T/munge/seed"
  SLURM_PIDS+=("$(cat "$T/munge/munged.pid")")
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null \
    || echo $((20000 + RANDOM % 20000))
}

slurm_conf_head() {
  local node
  mkdir -p "$T/state"
  for node in "${@:3}"; do mkdir -p "$T/spool/$node" "$T/tmp/$node"; done
  cat <<CONF
ClusterName=rlrectest
SlurmctldHost=$1($2)
SlurmctldPort=$(free_port)
SlurmdPort=$(free_port)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$T/munge/munge.socket
StateSaveLocation=$T/state
SlurmdSpoolDir=$T/spool/%n
TmpFS=$T/tmp/%n
SlurmctldPidFile=$T/slurmctld.pid
SlurmdPidFile=$T/slurmd-%n.pid
SlurmctldLogFile=$T/slurmctld.log
SlurmdLogFile=$T/slurmd-%n.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SlurmdParameters=config_overrides
MpiDefault=none
ReturnToService=2
SchedulerType=sched/backfill
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
CONF
}

slurm_stop() {
  local p
  for p in "${SLURM_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  sleep 1
  for p in "${SLURM_PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
}

job_state() {
  local state="" _
  for _ in $(seq 300); do
    state=$(scontrol show job "$1" 2>/dev/null | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p' | head -n1)
    case $state in COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY) break ;; esac
    sleep 1
  done
  echo "$state"
}
