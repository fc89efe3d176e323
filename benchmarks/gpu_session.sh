#!/usr/bin/env bash
# Everything in this repository that needs an NVIDIA GPU, in one go (CI has none):
#   1. the GPU tests: the CUDA kernels and every conformance block on cupy against NumPy;
#   2. the GPU benchmark suite (CuPy kernels against PyTorch CUDA) -> $OUT/gpu.json, and the
#      copy bandwidth beside the Euler kernel's -> $OUT/gpu_bandwidth.json;
#   3. lessons 06 and 03, default tier, on --backend cupy -> $OUT/lessons.tgz.
# Usage, from the repository root:  OUT=some/folder bash benchmarks/gpu_session.sh
# Each step has its own time limit and a log in $OUT; a failing step does not stop the next.
set -u
OUT=${OUT:-gpu-session}
mkdir -p "$OUT"
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1 MPLBACKEND=Agg

step() {  # step NAME LIMIT_S COMMAND...: run it, keep its log, print its status and tail
    local name=$1 limit=$2 start rc
    shift 2
    start=$(date +%s)
    echo "== $name (limit ${limit} s), from $(date -u +%T)"
    timeout "$limit" "$@" > "$OUT/$name.log" 2>&1
    rc=$?
    echo "   $name: exit $rc after $(( $(date +%s) - start )) s"
    tail -n "${TAIL:-15}" "$OUT/$name.log"
}

nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
python3 -c "import sys, numpy, cupy, torch; print('python', sys.version.split()[0], 'numpy', numpy.__version__,
'cupy', cupy.__version__, 'torch', torch.__version__)"
TAIL=25 step tests 90 python3 -m pytest -q -p no:cacheprovider -m gpu -rs \
    tests/test_kernels.py tests/test_conformance.py
step bench 150 python3 -m benchmarks.run --gpu --repeat 15 --batches 20 --out "$OUT"
step bandwidth 60 python3 -m benchmarks.gpu_bandwidth --out "$OUT"
step lesson06 80 python3 -m neurophys run 06 --backend cupy --out "$OUT/06"
step lesson03 150 python3 -m neurophys run 03 --backend cupy --out "$OUT/03"
tar czf "$OUT/lessons.tgz" -C "$OUT" 06 03 2>/dev/null
ls -la "$OUT"
