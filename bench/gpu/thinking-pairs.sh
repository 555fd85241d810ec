#!/usr/bin/env bash
# The thinking issue's item (a) on a GPU host: search-trace SFT against optimal-path SFT on four-number countdown, at
# equal training tokens, several seeds side by side on one GPU, then every policy measured greedily on 500 held-out
# problems (`ponder think measure`). Prints one row a seed and the mean paired difference last.
#
# Set-up (docs/thinking/note.md, twentieth and twenty-fourth stops): on the build machine
#   ../shared/gpu/pack.sh src/Ponder.Cli/Ponder.Cli.csproj
# then, on the GPU host from the repository root, with `.gpu` carried:
#   bash bench/gpu/thinking-pairs.sh SIZE SEEDS MINUTES [OUTDIR]
# SIZE: 7m (hidden 384, 7.1M parameters, the twentieth stop's pair) or 12m (hidden 512, 12.6M parameters);
# SEEDS: a comma list (1,2,3,4); MINUTES: each run's --max-minutes (a cut run is flagged, not compared).
set -euo pipefail
size=${1:?usage: thinking-pairs.sh 7m|12m SEEDS MINUTES [OUTDIR]}
seeds=${2:?usage: thinking-pairs.sh 7m|12m SEEDS MINUTES [OUTDIR]}
minutes=${3:?usage: thinking-pairs.sh 7m|12m SEEDS MINUTES [OUTDIR]}
out=${4:-${OUT:-/tmp/thinking-pairs}}
case "$size" in
  7m)  shape="--hidden 384 --layers 4 --heads 8 --kv-heads 8 --intermediate 1024 --lr 0.0016" ;;
  12m) shape="--hidden 512 --layers 4 --heads 8 --kv-heads 8 --intermediate 1376 --lr 0.0014" ;;
  *) echo "thinking-pairs.sh: SIZE must be 7m or 12m, not '$size'" >&2; exit 2 ;;
esac
[ -f .gpu/app.tar.xz ] || { echo "thinking-pairs.sh: .gpu/app.tar.xz is missing (pack src/Ponder.Cli with ../shared/gpu/pack.sh and carry .gpu)" >&2; exit 2; }

# Unpack once (device-run.sh unpacks on every call, which parallel runs would race on), then run the app directly.
bash .gpu/device-run.sh Ponder.Cli help >/dev/null
app=/tmp/ponder-app/app/Ponder.Cli
tl=$(python3 -c "import torch,os;print(os.path.join(os.path.dirname(torch.__file__),'lib'))")
nv=$(python3 -c "import os,nvidia;b=nvidia.__path__[0];print(':'.join(os.path.join(b,d,'lib') for d in os.listdir(b) if os.path.isdir(os.path.join(b,d,'lib'))))")
export LD_LIBRARY_PATH="$tl:$nv${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" PONDER_LIBTORCH="$tl" PONDER_TF32=1
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || true

task="think:countdown:numbers=4,max=9,target=50,expansions=64,fallback=optimal,maxlen=1024"
common="$shape --context 1056 --warmup 100 --eval-every 0 --eval-count 50 --checkpoint-every 100000 --device cuda --max-minutes $minutes"
# Equal tokens: 1,709 batches of 32 traces (12.2-12.3M tokens) against 1,783 batches of 64 optimal paths (12.0M).
declare -A steps=([trace]=1709 [optimal]=1783) batch=([trace]=32 [optimal]=64) style=([trace]=heuristic [optimal]=optimal)
mkdir -p "$out"
start=$(date +%s)
IFS=, read -ra list <<< "$seeds"
for s in "${list[@]}"; do
  for arm in trace optimal; do
    [ ! -e "$out/$arm$s" ] || { echo "thinking-pairs.sh: $out/$arm$s exists (trainers do not overwrite a run); choose another OUTDIR" >&2; exit 2; }
  done
done
for s in "${list[@]}"; do
  for arm in trace optimal; do
    "$app" train sft --task "$task,style=${style[$arm]}" --out "$out/$arm$s" $common --batch "${batch[$arm]}" \
      --steps "${steps[$arm]}" --seed "$s" > "$out/$arm$s.log" 2>&1 &
  done
done
wait
echo "trained in $(( $(date +%s) - start )) s"
for s in "${list[@]}"; do
  for arm in trace optimal; do
    "$app" think measure --checkpoint "$out/$arm$s" --count 500 --device cuda > "$out/$arm$s.measure.json" 2>&1 &
  done
done
wait
echo "trained and measured in $(( $(date +%s) - start )) s"

field() { grep -o "\"$2\": [-0-9.eE]*" "$1" | head -1 | awk '{print $2}'; }
done_step() { grep -o '"step": [0-9]*' "$1/ponder.json" 2>/dev/null | head -1 | awk '{print $2}'; }
echo "| seed | trace SFT | optimal SFT | trace - optimal | trace thinking tokens | trace dead ends | trace steps | optimal steps |"
echo "|---|---|---|---|---|---|---|---|"
diffs=()
for s in "${list[@]}"; do
  t=$(field "$out/trace$s.measure.json" Accuracy); o=$(field "$out/optimal$s.measure.json" Accuracy)
  ts=$(done_step "$out/trace$s"); os=$(done_step "$out/optimal$s")
  d=$(awk -v t="${t:-nan}" -v o="${o:-nan}" 'BEGIN { printf "%+.1f", 100 * (t - o) }')
  full=yes; [ "${ts:-0}" = "${steps[trace]}" ] && [ "${os:-0}" = "${steps[optimal]}" ] || full="no (cut)"
  [ "$full" = yes ] && diffs+=("$d")
  echo "| $s | $(awk -v x="${t:-nan}" 'BEGIN{printf "%.1f%%", 100*x}') | $(awk -v x="${o:-nan}" 'BEGIN{printf "%.1f%%", 100*x}') | $d | $(field "$out/trace$s.measure.json" MeanThinkingTokens) | $(field "$out/trace$s.measure.json" DeadEndsPerCompletion) | ${ts:-?} | ${os:-?} (finished: $full) |"
done
printf '%s\n' "${diffs[@]}" | awk 'NF { n++; s += $1; q += $1 * $1 } END { if (n) { m = s / n; sd = n > 1 ? sqrt((q - n * m * m) / (n - 1)) : 0;
  printf "mean trace - optimal over %d finished seeds: %+.2f points (SD %.2f, SE %.2f)\n", n, m, sd, sd / sqrt(n) } else print "no seed finished both runs" }'
