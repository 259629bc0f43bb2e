#!/usr/bin/env bash
# Regenerate the published figures of bench/RESULTS.md, one command after another, on a quiet machine.
#
#   bash bench/regenerate.sh [OUT]        (OUT defaults to bench/out/regen)
#   STEPS="peers reber" bash bench/regenerate.sh OUT      (only the named steps)
#
# Each command's output goes to OUT/<name>.log beside OUT/provenance.json (commit, date, CPU, versions);
# runs go under OUT/runs. Run it from the repository root on a clean tree, with nothing else running:
# the timings are only comparable within one run of this script. Long runs are capped at ~10 minutes.
set -u
OUT=${1:-bench/out/regen}
mkdir -p "$OUT/runs"
DATA=${JAXRNN_DATA:-../shared/data}
export JAXRNN_DATA=$DATA
PY=${PYTHON:-python}
$PY -c "import json; from bench.provenance import provenance; print(json.dumps(provenance(), indent=1))" \
    > "$OUT/provenance.json"
cat "$OUT/provenance.json"

step() {  # step NAME COMMAND...: run it, keep its output and wall time
    local name=$1
    shift
    if [ -n "${STEPS:-}" ] && [[ " $STEPS " != *" $name "* ]]; then
        return
    fi
    echo "== $name: $*"
    local start=$SECONDS
    "$@" > "$OUT/$name.log" 2>&1
    local rc=$?
    echo "   rc=$rc, $((SECONDS - start)) s"
    echo "# rc=$rc wall_s=$((SECONDS - start)) command: $*" >> "$OUT/$name.log"
}

step peers $PY -m bench.peers --repeats 11
step reber jaxrnn train classifier --out "$OUT/runs/reber" --quiet
step reber_predict $PY -m bench.reber_predict_check --run "$OUT/runs/reber"
step regressor jaxrnn train regressor --out "$OUT/runs/regressor" --quiet
step static_vs_scan $PY -m bench.static_vs_scan --cells lstm,basic --lengths 10,25,50,100,200 --unrolls 1,4 \
    --repeats 3 --cap 60
step windows $PY -m bench.windows --repeats 9
step projection $PY -m bench.projection --repeats 9
step tune_unroll $PY -m bench.tune_unroll --repeats 5
step parallel_in_time $PY -m bench.parallel_in_time --repeats 5 --static-cap 100
step packing $PY -m bench.packing
step wavefront $PY -m bench.wavefront --repeats 9
step step_profile $PY -m bench.step_profile --repeats 9 --levers
step parallel $PY bench/parallel.py --repeats 5
step mnist_book jaxrnn train classifier --dataset mnist --data-dir "$DATA" --out "$OUT/runs/mnist" --quiet
step word2vec jaxrnn train word2vec --corpus "wordnet:$DATA/wordnet" --out "$OUT/runs/word2vec" --quiet
step word2vec_check $PY -m bench.word2vec_check --wordnet "$DATA/wordnet" "$OUT/runs/word2vec/vectors.txt" \
    "$OUT/runs/word2vec/baselines/ppmi_svd.txt" "$OUT/runs/word2vec/baselines/random.txt"
step forecaster_co2 jaxrnn train forecaster --series co2 --data-dir "$DATA/timeseries" --out "$OUT/runs/co2" --quiet
step forecaster_elnino jaxrnn train forecaster --series elnino --data-dir "$DATA/timeseries" \
    --out "$OUT/runs/elnino" --quiet
step spell jaxrnn train spell --data-dir "$DATA" --out "$OUT/runs/spell" --quiet
step video_lstm jaxrnn train video --data-dir "$DATA" --model lstm --out "$OUT/runs/video-lstm" --quiet
step video_convlstm jaxrnn train video --data-dir "$DATA" --model convlstm --out "$OUT/runs/video-convlstm" --quiet
step video_memoryless $PY -m bench.video_memoryless --data-dir "$DATA" --quiet
step min_gru_accuracy $PY -m bench.min_gru_accuracy --data-dir "$DATA"
step translator_numbers jaxrnn train translator --steps 1000 --out "$OUT/runs/translator-numbers" --quiet
step mixed_precision $PY -m bench.mixed_precision --reber-epochs 15 --mnist-epochs 3
step mnist_deep_lstm jaxrnn train classifier --dataset mnist --data-dir "$DATA" --cell lstm --layers 2 --units 256 \
    --keep-prob 0.75 --lr-decay 0.9 --ema-decay 0.999 --epochs 27 --out "$OUT/runs/mnist-lstm" --quiet
echo "done: logs in $OUT"
