#!/usr/bin/env bash
# Stops only the daemons ci/slurm/start.sh started (pid files in $SLURM_BASE/run), after
# cancelling the jobs still in the cluster. Adapted from ../shared/slurm/.
set -uo pipefail
BASE=${SLURM_BASE:-/tmp/acktr-slurm}
RUN=$BASE/run

# cancel jobs still in this cluster so no slurmstepd/job processes outlive slurmd
if [ -s "$RUN/slurmctld.pid" ] && command -v squeue >/dev/null; then
  jobs=$(timeout 10 squeue -h -o %A 2>/dev/null | sort -u)
  if [ -n "$jobs" ]; then
    scancel $jobs
    for _ in $(seq 30); do [ -z "$(timeout 5 squeue -h 2>/dev/null)" ] && break; sleep 0.5; done
  fi
fi

for d in slurmd slurmctld munged; do
  f=$RUN/$d.pid
  [ -s "$f" ] || { echo "$d: no pid file, not started by us"; continue; }
  p=$(cat "$f")
  if [ -r "/proc/$p/comm" ] && [ "$(cat "/proc/$p/comm")" = "$d" ]; then
    kill -TERM "$p"
    for _ in $(seq 100); do [ -e "/proc/$p" ] || break; sleep 0.1; done
    if [ -e "/proc/$p" ]; then echo "$d ($p) still running" >&2; else echo "stopped $d ($p)"; fi
  else
    echo "$d: pid $p not running (stale pid file)"
  fi
  rm -f "$f"
done
