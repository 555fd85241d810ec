#!/usr/bin/env bash
# The thinking issue's item (a) on the CPU: search-trace SFT against optimal-path SFT on four-number countdown at equal
# training tokens, the 164k-parameter policy of docs/thinking/note.md, one seed's two runs side by side (one libtorch
# thread each), then both measured greedily on 500 held-out problems (`ponder think measure`).
#
#   bash bench/thinking-pairs-cpu.sh SEEDS TRACE_STEPS OPTIMAL_STEPS [OUTDIR]
# SEEDS: a comma list (1,2,3,4); the step counts give equal tokens: 5952 7080 for about 6M tokens an arm, 11904 14160
# for about 12M (the runs' tokens_seen in ponder.json). Prints one row a seed: accuracies and their difference.
set -euo pipefail
seeds=${1:?usage: thinking-pairs-cpu.sh SEEDS TRACE_STEPS OPTIMAL_STEPS [OUTDIR]}
trace_steps=${2:?usage: thinking-pairs-cpu.sh SEEDS TRACE_STEPS OPTIMAL_STEPS [OUTDIR]}
optimal_steps=${3:?usage: thinking-pairs-cpu.sh SEEDS TRACE_STEPS OPTIMAL_STEPS [OUTDIR]}
out=${4:-runs/thinking-pairs}
task="countdown:numbers=4,max=9,target=50"
shape="--hidden 64 --layers 3 --heads 4 --kv-heads 4 --intermediate 176 --context 448 --batch 8 --lr 0.003 --warmup 100"
./ponder help > /dev/null 2>&1                             # build once before the runs start side by side
export PONDER_THREADS=1
mkdir -p "$out"
echo "| seed | tokens (trace / optimal) | trace SFT | optimal SFT | trace − optimal |"
echo "|---|---|---|---|---|"
for s in ${seeds//,/ }; do
  run="$out/s$s-$trace_steps"
  for arm in trace optimal; do
    style=$([ "$arm" = trace ] && echo heuristic || echo optimal)
    steps=$([ "$arm" = trace ] && echo "$trace_steps" || echo "$optimal_steps")
    ./ponder train sft --task "think:$task,style=$style,expansions=16,fallback=optimal,maxlen=416" --out "$run-$arm" --steps "$steps" \
      $shape --seed "$s" --eval-every 0 --checkpoint-every 100000 > "$run-$arm.log" 2>&1 &
  done
  wait
  for arm in trace optimal; do ./ponder think measure --checkpoint "$run-$arm" --count 500 > "$run-$arm.measure" 2>&1 & done
  wait
  python3 - "$run" <<'PY'
import json, sys
run = sys.argv[1]
acc = {a: json.load(open(f"{run}-{a}.measure"))["Accuracy"] for a in ("trace", "optimal")}
tok = {a: json.load(open(f"{run}-{a}/ponder.json"))["tokens_seen"] for a in ("trace", "optimal")}
print(f"| {run.split('/s')[-1].split('-')[0]} | {tok['trace']:,} / {tok['optimal']:,} | {acc['trace']:.1%} | {acc['optimal']:.1%} | {100 * (acc['trace'] - acc['optimal']):+.1f} |")
PY
done
