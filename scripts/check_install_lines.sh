#!/usr/bin/env bash
# Ask pip's resolver whether each install line of the README and docs resolves, as on a user's
# machine: a throwaway venv, nothing installed, and this machine's local wheel folders and pip caps
# (PIP_FIND_LINKS, /etc/xdg/pip) left out. Nothing is installed (--dry-run); prints one line each.
#   scripts/check_install_lines.sh            # all lines
set -uo pipefail
cd "$(dirname "$0")/.."
venv=$(mktemp -d)/venv
python3 -m venv "$venv"
"$venv/bin/python" -m pip install -q --upgrade pip >/dev/null 2>&1
check() { # $1 = label, rest = pip install arguments
  local label=$1; shift
  local report; report=$(mktemp)
  if env -u PIP_FIND_LINKS -u PIP_CONSTRAINT PIP_CONFIG_FILE=/dev/null \
    "$venv/bin/python" -m pip install --dry-run --ignore-installed --quiet --report "$report" "$@" \
    >"$report.log" 2>&1; then
    "$venv/bin/python" - "$report" "$label" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
v = {i["metadata"]["name"].lower().replace("_", "-"): i["metadata"]["version"] for i in r["install"]}
keys = ["torch", "vllm", "transformers", "trl", "deepspeed", "llama-cpp-python", "ray", "fastapi"]
print(f"OK    {sys.argv[2]}: {len(v)} packages; " + ", ".join(f"{k} {v[k]}" for k in keys if k in v))
PY
  else
    echo "FAIL  $label: $(grep -m3 -E 'ERROR|conflict|No matching' "$report.log" | tr '\n' ' ')"
  fi
}
check "pip install -c constraints/cpu.txt -e '.[cpu]'   (scripts/bootstrap.sh)" -c constraints/cpu.txt -e '.[cpu]'
check "pip install -c constraints/cpu.txt -e '.[all,dev]'   (scripts/bootstrap.sh dev)" -c constraints/cpu.txt -e '.[all,dev]'
check "pip install -e '.[gpu,hf]'   (README, GPU)" -e '.[gpu,hf]'
check "pip install -e '.[gpu,hf,detect,train]'   (GPU: generate, review, detect, train)" -e '.[gpu,hf,detect,train]'
check "pip install -e '.[gpu,hf,train]' deepspeed   (docs/training.md, ZeRO-3)" -e '.[gpu,hf,train]' deepspeed
check "pip install -c constraints/cpu.txt -e '.[cpu,web]'   (docs/web.md, after bootstrap)" -c constraints/cpu.txt -e '.[cpu,web]'
