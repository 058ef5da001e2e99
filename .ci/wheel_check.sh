#!/usr/bin/env bash
# The product as a user gets it: build the sdist and wheel (`python -m build`), install the wheel
# non-editable in a fresh venv with no extras, and from an empty folder use the CLI and the API; then
# add the [app] extra and check the explorer answers HTTP 200 on localhost. ~2-4 minutes.
# Usage: bash .ci/wheel_check.sh [python-with-build]   (default: .venv/bin/python, from `make test`)
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
BUILD_PY=${1:-$REPO/.venv/bin/python}
BASE_PY=${PYTHON:-python3}
WORK=$(mktemp -d)
APP_PID=""
cleanup() {
  if [ -n "$APP_PID" ]; then kill "$APP_PID" 2>/dev/null || true; wait "$APP_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
export PIP_DISABLE_PIP_VERSION_CHECK=1

fail() { echo "wheel check FAILED: $*" >&2; exit 1; }
step() { echo "wheel check: $*"; }

step "building sdist and wheel"
"$BUILD_PY" -m build --outdir "$WORK/dist" "$REPO" >"$WORK/build.log" 2>&1 || { tail -30 "$WORK/build.log"; fail "python -m build"; }
WHEEL=$(ls "$WORK"/dist/*.whl)
step "built $(basename "$WHEEL") ($(du -k "$WHEEL" | cut -f1) KiB)"

step "installing it without extras in a fresh venv"
"$BASE_PY" -m venv "$WORK/venv"
VPY="$WORK/venv/bin/python"
ACCSIM="$WORK/venv/bin/accsim"
"$VPY" -m pip install --quiet "$WHEEL" 2>&1 | grep -v "is ignored" || true
"$VPY" -c "import simulator" || fail "the wheel is not installed"

mkdir -p "$WORK/empty"
cd "$WORK/empty"   # nothing of the repository is reachable from here
export PYTHONPATH=

step "the core has no extras"
"$VPY" - <<'EOF' || fail "an extra's package came with the core install"
import importlib.util
present = [m for m in ("streamlit", "plotly", "onnx", "distributed", "hypothesis") if importlib.util.find_spec(m)]
assert not present, present
import simulator.bundled  # a submodule: `import simulator` loads its names lazily
assert "_data" in simulator.bundled.data_root("hardware_specs").parts, "bundled data not read from the wheel"
EOF

step "accsim --version"
want=$("$VPY" -c "import simulator; print(simulator.__version__)")
got=$("$ACCSIM" --version)
[ "$got" = "accsim $want" ] || fail "--version printed '$got', expected 'accsim $want'"
echo "  $got"

step "accsim list hardware: all five kinds"
"$ACCSIM" list hardware >"$WORK/list.txt"
for kind in cpu gpu tpu fpga asic system; do
  grep -q "^$kind " "$WORK/list.txt" || fail "no $kind in accsim list hardware"
done
echo "  $(wc -l <"$WORK/list.txt") entries"
"$ACCSIM" list hardware --kind tpu | grep -q google-tpu-v4 || fail "list hardware --kind tpu"
"$ACCSIM" list workloads | grep -q '^resnet50 ' || fail "list workloads"
"$ACCSIM" list stacks | grep -q '^tensorrt ' || fail "list stacks"

step "accsim show nvidia-h100-sxm"
"$ACCSIM" show nvidia-h100-sxm >"$WORK/show.txt"
for want in "native bf16" "989 TFLOP/s" "80.0 GiB" "3.35 TB/s" "TDP 700 W" "source:"; do
  grep -q "$want" "$WORK/show.txt" || fail "accsim show nvidia-h100-sxm lacks '$want'"
done
head -4 "$WORK/show.txt" | sed 's/^/  /'

step "one simulate per device kind, each device in its native precision"
for run in gpu:nvidia-h100-sxm:resnet50:8 tpu:google-tpu-v4:resnet50:8 cpu:intel-xeon-platinum-8480:resnet50:8 \
           fpga:amd-alveo-u250:resnet18:8 asic:aws-inferentia2:resnet50:8 tpu:google-edge-tpu:mobilenet-v2:1; do
  IFS=: read -r kind hw wl batch <<<"$run"
  out=$("$ACCSIM" simulate --hardware "$hw" --workload "$wl" --batch-size "$batch") || fail "simulate $hw $wl"
  echo "$out" | grep -q "($kind)" || fail "simulate $hw: kind $kind not in the table"
  echo "$out" | grep -q "(fits)" || fail "simulate $hw $wl does not fit"
  echo "  $(echo "$out" | head -1) -> $(echo "$out" | sed -n 2p | awk '{$1=$1; print}')"
done
"$ACCSIM" simulate --hardware dgx-h100 --workload gpt2 --mode training --batch-size 32 --seq-len 256 \
  --parallel dp=2,pp=4 --microbatches 8 --format json >"$WORK/cluster.json" || fail "simulate on a system"
"$VPY" -c "import json,sys; d=json.load(open(sys.argv[1])); assert d['devices']==8 and d['fits_in_memory'], d" \
  "$WORK/cluster.json" || fail "cluster JSON"

step "a run that does not fit exits 3"
set +e
"$ACCSIM" simulate --hardware nvidia-l4 --workload llama2-70b --batch-size 1 >/dev/null 2>"$WORK/err.txt"
rc=$?
set -e
[ "$rc" = 3 ] || fail "expected exit 3 for llama2-70b on one L4, got $rc"
grep -q "DOES NOT FIT" "$WORK/err.txt" || fail "no DOES NOT FIT line"

step "python -c 'import simulator' and the API"
"$VPY" -c "import simulator as sim; r = sim.simulate('resnet50', 'nvidia-h100-sxm', batch_size=8); assert r.fits_in_memory and r.step_time_s > 0; print('  api:', r.effective_precision, round(r.step_time_s * 1e3, 3), 'ms')"

step "LLM serving from the wheel's data: an HF sample config, a request mix, the vLLM scheduler, a plan"
"$ACCSIM" list schedulers | grep -q '^vllm ' || fail "list schedulers"
"$ACCSIM" list request-mixes | grep -q '^chat ' || fail "list request-mixes"
CFG=$("$VPY" -c "from simulator.bundled import data_root; p = data_root('hf_configs') / 'qwen2.5-0.5b.json'; assert '_data' in p.parts and p.is_file(); print(p)") \
  || fail "bundled HF configs not in the wheel"
"$VPY" - "$CFG" <<'EOF' || fail "serving with bundled configs, mixes and schedulers"
import sys
import simulator as sim
trace = sim.request_mix("chat", rate_per_s=2, duration_s=5)
s = sim.serve(sys.argv[1], "nvidia-l4", requests=trace, scheduler="vllm", slo={"ttft_p99_s": 2.0})
assert s.requests == len(trace) and s.kv_blocks > 0, s.summary
print("  serve:", s.workload, "TTFT p99", round(s.ttft_p99_s, 3), "s, SLO met", s.slo_met)
EOF
"$ACCSIM" plan --workload "$CFG" --requests chat --rate-per-s 2 --duration-s 5 --slo ttft_p99=2 --devices nvidia-l4 \
  --devices-per-replica 1 --max-replicas 1 --max-num-seqs 16 | grep -q "^best: 1 x 1 nvidia-l4" || fail "accsim plan"

step "a missing extra is named (exit 2)"
set +e
"$ACCSIM" app >/dev/null 2>"$WORK/err.txt"
rc=$?
set -e
[ "$rc" = 2 ] || fail "accsim app without [app]: expected exit 2, got $rc"
grep -q "accsim\[app\]" "$WORK/err.txt" || fail "accsim app does not name the app extra: $(cat "$WORK/err.txt")"

step "installing the [app] extra and serving the explorer headless"
"$VPY" -m pip install --quiet "${WHEEL}[app]" 2>&1 | grep -v "is ignored" || true
PORT=$("$VPY" -c "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
"$ACCSIM" app --port "$PORT" --address 127.0.0.1 >"$WORK/app.log" 2>&1 &
APP_PID=$!
"$VPY" - "$PORT" <<'EOF' || { tail -20 "$WORK/app.log"; fail "the explorer did not answer HTTP 200"; }
import sys, time, urllib.request
port = sys.argv[1]
deadline = time.monotonic() + 90
while True:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as page, \
             urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=5) as health:
            assert page.status == 200 and health.status == 200, (page.status, health.status)
            print(f"  explorer on 127.0.0.1:{port}: HTTP {page.status}, health {health.read().decode().strip()}")
            break
    except OSError:
        if time.monotonic() > deadline:
            raise
        time.sleep(1)
EOF
echo "wheel check: ok"
