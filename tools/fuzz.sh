#!/usr/bin/env bash
# Fuzzes every parser a user's file reaches with libFuzzer (+ AddressSanitizer, UBSan), a bounded time each.
#   tools/fuzz.sh [SECONDS=60] [WORK_DIR=build-fuzz] [TARGET...]
# Targets (default: all): safetensors script tokenizer tokenizer_files model_index lora_keys unet_config vae_config clip_text_config taesd_config
# scheduler_config capture_metadata prompt_grammar; each is
# tests/fuzz/fuzz_TARGET.cpp, seeded from tests/fuzz/seeds/TARGET. A target is rebuilt only when its sources
# changed. Exits non-zero when any fuzzer finds a crash; the reproducer is left in WORK_DIR/TARGET.
set -euo pipefail
seconds=${1:-60}
work=${2:-build-fuzz}
shift $(($# < 2 ? $# : 2))
root=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$work"
work=$(cd "$work" && pwd)

# What each target compiles beside its fuzz_TARGET.cpp: the parser alone, no LibTorch.
declare -A sources=(
  [safetensors]="core/io/safetensors_format.cpp"
  [script]="app/gui/script_parse.cpp"
  [tokenizer]="core/text/clip_tokenizer.cpp"
  [tokenizer_files]="core/text/clip_tokenizer.cpp"
  [lora_keys]="core/model/lora_names.cpp"
  [model_index]="core/text/prompt_guide.cpp core/text/prompt_grammar.cpp core/io/json_text.cpp"
  [unet_config]="core/model/unet_config.cpp core/io/json_text.cpp"
  [vae_config]="core/model/vae_config.cpp core/io/json_text.cpp"
  [clip_text_config]="core/text/clip_text_config.cpp core/io/json_text.cpp"
  [taesd_config]="core/model/taesd_config.cpp core/io/json_text.cpp"
  [scheduler_config]="core/sched/scheduler_config.cpp core/model/unet_config.cpp core/io/json_text.cpp"
  [capture_metadata]="core/capture/capture_metadata.cpp"
  [prompt_grammar]="core/text/prompt_grammar.cpp"
)
targets=("$@")
[ ${#targets[@]} -gt 0 ] ||
  targets=(safetensors script tokenizer tokenizer_files model_index lora_keys unet_config vae_config clip_text_config
    taesd_config scheduler_config capture_metadata prompt_grammar)

build() {
  local t=$1 bin=$work/fuzz_$1
  local files=("$root/tests/fuzz/fuzz_$t.cpp")
  for f in ${sources[$t]}; do files+=("$root/$f"); done
  local newest
  # sed reads the whole list: head would close the pipe early, and under pipefail ls's SIGPIPE ends the script
  # with no message once the list outgrows one stdio buffer.
  newest=$(ls -t "${files[@]}" "$root"/core/*/*.h "$root"/tests/fuzz/*.h "$root"/app/gui/script_parse.h "$0" | sed -n 1p)
  [ -x "$bin" ] && [ "$bin" -nt "$newest" ] && return 0
  echo "building fuzz_$t"
  clang++ -std=c++17 -Wall -Wextra -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    -I"$root/core" -I"$root/app" -DATTNSCOPE_FUZZ_TOKENIZER="\"$root/assets/clip-tokenizer\"" \
    "${files[@]}" -o "$bin.tmp"
  mv "$bin.tmp" "$bin"
}

failed=()
for t in "${targets[@]}"; do
  [ -n "${sources[$t]+set}" ] || { echo "fuzz.sh: unknown target '$t' (${!sources[*]})" >&2; exit 2; }
  build "$t"
  mkdir -p "$work/$t/corpus"
  echo "fuzzing $t for $seconds s"
  # -timeout: an input that takes over 10 s (a parser gone quadratic) is a finding too. A tokenizer folder
  # (its three files in one input) needs more room than one file.
  max_len=4096
  [ "$t" = tokenizer_files ] && max_len=16384
  (cd "$work/$t" && "$work/fuzz_$t" -max_total_time="$seconds" -max_len=$max_len -timeout=10 -print_final_stats=1 \
    corpus "$root/tests/fuzz/seeds/$t") || failed+=("$t")
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz.sh: findings in: ${failed[*]} (reproducers under $work/<target>)" >&2
  exit 1
fi
