#!/usr/bin/env bash
# A real local Slurm cluster for the tests: munged, slurmctld and two slurmd daemons ("node1",
# "node2") on this host, every file under one scratch folder.
#
#   source tests/slurm/cluster.sh; start_cluster DIR; ...; stop_cluster DIR
# start_cluster exports SLURM_CONF; stop_cluster kills every daemon by the PID in its pid file.

start_cluster() {
  local dir=$1 cpus
  cpus=$(nproc)
  mkdir -p "$dir"/{state,spool,log,run,tmp/node1,tmp/node2,munge}
  chown munge:munge "$dir/munge"
  mkdir -p /run/munge && chown munge:munge /run/munge
  # Our own munged with its own socket, so a munged already running elsewhere does not matter.
  runuser -u munge -- /usr/sbin/munged --socket="$dir/munge/munge.socket" \
    --pid-file="$dir/munge/munged.pid" --log-file="$dir/munge/munged.log" --seed-file="$dir/munge/seed" \
    --key-file=/etc/munge/munge.key || return 1
  local port=$((20000 + RANDOM % 20000))
  cat > "$dir/slurm.conf" <<CONF
ClusterName=icltest
SlurmctldHost=localhost
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$dir/munge/munge.socket
CredType=cred/munge
MpiDefault=pmix
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
EnforcePartLimits=ALL
MailProg=/bin/true
ReturnToService=2
JobRequeue=1
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=1
MinJobAge=3600
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool/%n
SlurmctldPidFile=$dir/run/slurmctld.pid
SlurmdPidFile=$dir/run/slurmd-%n.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd-%n.log
TmpFS=$dir/tmp/%n
NodeName=node1 NodeHostname=localhost Port=$((port + 2)) CPUs=$cpus State=UNKNOWN
NodeName=node2 NodeHostname=localhost Port=$((port + 3)) CPUs=$cpus State=UNKNOWN
PartitionName=test Nodes=node1,node2 Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES
CONF
  export SLURM_CONF="$dir/slurm.conf"
  /usr/sbin/slurmctld -f "$SLURM_CONF" || return 1
  /usr/sbin/slurmd -f "$SLURM_CONF" -N node1 || return 1
  /usr/sbin/slurmd -f "$SLURM_CONF" -N node2 || return 1
  local i
  for i in $(seq 1 100); do
    if [[ $(sinfo -h -o '%t' 2>/dev/null | sort -u | tr -d '\n') == idle ]]; then return 0; fi
    sleep 0.2
  done
  echo "cluster.sh: the nodes did not become idle" >&2
  sinfo >&2
  return 1
}

stop_cluster() {
  local dir=$1 file
  for file in "$dir"/run/slurmd-*.pid "$dir"/run/slurmctld.pid "$dir"/munge/munged.pid; do
    [[ -f $file ]] && kill "$(cat "$file")" 2>/dev/null
  done
  sleep 0.5
  for file in "$dir"/run/slurmd-*.pid "$dir"/run/slurmctld.pid "$dir"/munge/munged.pid; do
    [[ -f $file ]] && kill -9 "$(cat "$file")" 2>/dev/null
  done
  return 0
}
