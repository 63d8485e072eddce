#!/usr/bin/env bash
# The Slurm path against a real Slurm (README "Running on a cluster"): a single-node cluster
# (ci/slurm/start.sh, MaxArraySize 5 so the 8-cell smoke plan is split into two arrays), the
# smoke spec (profile `long`: cells of a few seconds) submitted as arrays into a results
# directory whose name is full of shell and Slurm metacharacters, a second submission that
# must queue nothing, one running task requeued mid-cell (`scontrol requeue`), another sent
# the time-limit signal mid-cell (`scancel --batch --signal=USR1`, which requeues itself), and
# at the end: every cell finished exactly once, both resumed from their checkpoints, the report
# written by the dependent job byte-identical to a local `reproduce`, nothing executed from
# the hostile values. Skipped (with a line saying why) only where Slurm cannot be installed.
set -euo pipefail
cd "$(dirname "$0")/.."

skip() {
  echo "ci/slurm.sh: SKIPPED: $*"
  exit 0
}
fail() {
  echo "ci/slurm.sh: FAILED: $*" >&2
  exit 1
}
[ "$(id -u)" = 0 ] || skip "not root, so the single-node Slurm cannot be installed and started here"
command -v apt-get >/dev/null || skip "no apt-get, so Slurm cannot be installed here"

work="$(mktemp -d)"
export SLURM_BASE="$work/slurm"
stop_script="$PWD/ci/slurm/stop.sh"
cleanup() {
  bash "$stop_script" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

t0="$(now)"
rc=0
SLURM_MAX_ARRAY_SIZE=5 bash ci/slurm/start.sh >"$work/start.log" 2>&1 || rc=$?
if [ "$rc" = 3 ]; then
  tail -5 "$work/start.log"
  skip "Slurm could not be installed (apt-get failed; log above)"
elif [ "$rc" != 0 ]; then
  cat "$work/start.log" >&2
  fail "the single-node Slurm did not start"
fi
start_s="$(since "$t0")"
echo "== Slurm up in $start_s s: $(sinfo -h -o '%P %D %T %c CPUs')"

cargo build --release --quiet
repo="$PWD"
acktr="$repo/target/release/acktr"
results="$work/it's a \"results\" dir \$(touch PWNED) \`touch PWNED\` #1 %A %%"
local_results="$work/local"
cd "$work"   # jobs start here: a PWNED file would appear here
submit() {
  "$acktr" --results "$results" --specs-dir "$repo/specs" reproduce smoke --profile long --slurm \
    --max-parallel 2 --time 00:10:00 --checkpoint-minutes 0 "--sbatch-arg=--comment=ci \$(touch PWNED); 'x' #y"
}
status() { "$acktr" --results "$results" --specs-dir "$repo/specs" status smoke --profile long; }

t1="$(now)"
submit >"$work/submit.out" 2>"$work/submit.err" || { cat "$work/submit.out" "$work/submit.err" >&2; fail "submission failed"; }
cat "$work/submit.out" "$work/submit.err"
arrays="$(grep -c 'cells (' "$work/submit.out" || true)"
[ "$arrays" = 2 ] || fail "expected the 8 cells as 2 arrays (MaxArraySize 5), got $arrays"
grep -q 'the report, after the arrays' "$work/submit.out" || fail "no report job submitted"

# A second submission while the arrays are queued or running submits nothing.
submit >"$work/again.out" 2>"$work/again.err" || { cat "$work/again.err" >&2; fail "second submission failed"; }
grep -q ', 0 submitted;' "$work/again.err" || { cat "$work/again.out" "$work/again.err"; fail "the second submission queued cells again"; }
echo "== second submission: $(tail -1 "$work/again.err")"

# A task running with a checkpoint (mid-cell), other than cell $1: sets $task, $cell, $line.
mid_cell_task() {
  task="" cell="" line=""
  local deadline=$((SECONDS + 300)) now_status candidate
  while [ -z "$task" ]; do
    [ "$SECONDS" -lt "$deadline" ] || { status; fail "no task was seen running mid-cell"; }
    now_status="$(status)"
    candidate="$(grep -E 'running \(task [0-9]+_[0-9]+ .*checkpoint at update' <<<"$now_status" | awk -v skip="$1" '$1 != skip' | head -1 || true)"
    if [ -n "$candidate" ]; then
      line="$candidate"
      task="$(sed -E 's/.*running \(task ([0-9]+_[0-9]+) .*/\1/' <<<"$line")"
      cell="$(awk '{ print $1 }' <<<"$line")"
    else
      sleep 0.2
    fi
  done
}

# `scontrol requeue` of a task mid-cell: SIGTERM, the cell checkpoints, Slurm requeues it.
mid_cell_task none
requeued_task="$task" requeued_cell="$cell"
echo "== requeueing task $task (cell $cell) mid-cell: $line"
scontrol requeue "$task"
# The time-limit path: the batch shell gets USR1 as `--signal=B:USR1@120` sends it, the cell
# checkpoints, and the script requeues its own task.
mid_cell_task "$requeued_cell"
signalled_task="$task" signalled_cell="$cell"
echo "== USR1 to the batch shell of task $task (cell $cell) mid-cell, as before a time limit: $line"
# (scancel may report ESLURM_ALREADY_DONE, exit code 229, when the task has already checkpointed
# and requeued itself by the time it checks; the logs below show what happened.)
scancel --batch --signal=USR1 "$task" || echo "(scancel exit code $?)"

# Wait for every job (the arrays, the requeued task, the report) to leave the queue.
deadline=$((SECONDS + 600))
while [ -n "$(squeue -h -o %i)" ]; do
  [ "$SECONDS" -lt "$deadline" ] || { squeue; fail "jobs still queued after 600 s"; }
  sleep 1
done
slurm_s="$(since "$t1")"
echo "== all jobs left the queue $slurm_s s after submission"
final="$(status)"
tail -3 <<<"$final"
grep -q '^8 cells: 8 finished' <<<"$final" || { echo "$final"; fail "not every cell finished"; }

logs="$results/smoke/slurm/logs"
ls "$logs"
for i in $(seq 0 7); do
  n="$(cat "$logs"/[0-9]*_*.out | grep -c "^cell $i/8 done:" || true)"
  [ "$n" = 1 ] || { tail -n +1 "$logs"/*.out; fail "cell $i ran to completion $n times, not once"; }
done
log_of() { grep -l "(cell $1) on" "$logs"/[0-9]*_*.out | head -1; }
requeued_log="$(log_of "$requeued_cell")"
signalled_log="$(log_of "$signalled_cell")"
for f in "$requeued_log" "$signalled_log"; do
  grep -q 'stop signal; checkpoint written at update' "$f" || { cat "$f"; fail "$f: the task did not checkpoint on the signal"; }
  grep -q 'resuming from its checkpoint' "$f" || { cat "$f"; fail "$f: the task did not resume from its checkpoint"; }
  grep -q 'attempt 2' "$f" || { cat "$f"; fail "$f: the task ran only once"; }
done
grep -q "checkpointed before the time limit; requeueing $signalled_task" "$signalled_log" || { cat "$signalled_log"; fail "the USR1 task did not requeue itself"; }
for f in "$requeued_log" "$signalled_log"; do
  echo "== $f:"
  cat "$f"
done
ls "$logs"/report-*.out >/dev/null 2>&1 || fail "the report job left no log"
cat "$logs"/report-*.out

t2="$(now)"
"$acktr" --results "$local_results" --specs-dir "$repo/specs" reproduce smoke --profile long --no-progress --jobs 2 >/dev/null 2>"$work/local.err" \
  || { cat "$work/local.err" >&2; fail "local reproduce failed"; }
local_s="$(since "$t2")"
for f in report.md report.csv report.tex; do
  cmp "$results/smoke/$f" "$local_results/smoke/$f" || fail "$f differs between Slurm and the local run"
done
echo "== reports byte-identical to a local reproduce (report.md, report.csv, report.tex)"

pwned="$(find "$work" "$repo" -name PWNED 2>/dev/null | head -1)"
[ -z "$pwned" ] || fail "a hostile value was executed: $pwned exists"
echo "ci/slurm.sh: ok (Slurm installed and started in ${start_s} s; submission to empty queue ${slurm_s} s, with two requeues; the same cells by a local reproduce --jobs 2: ${local_s} s)"
