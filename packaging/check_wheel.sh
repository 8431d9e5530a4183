#!/usr/bin/env bash
# Build the wheel, install it into a fresh virtual environment (CPU torch first, then the
# wheel and its dependencies from the package index), and recognise the sample page and an
# ink file from a folder outside the checkout, with no network for the recognition itself.
# Prints the wheel's size and the cold-start time of `hwr recognize`.
#   packaging/check_wheel.sh [WORK_DIR]
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="${1:-$(mktemp -d -t hwr-wheel-XXXXXX)}"
mkdir -p "$work"
python3 -m pip wheel "$repo" --no-deps -q -w "$work/dist"
wheel="$(ls "$work"/dist/hwr-*.whl)"
python3 - "$wheel" <<'PY'
import sys, zipfile
names = zipfile.ZipFile(sys.argv[1]).namelist()
need = ["hwr/models_data/ink_default.safetensors", "hwr/models_data/image_default.safetensors",
        "hwr/models_data/lm_en.arpa.gz", "hwr_gui/app.py"]
missing = [n for n in need if n not in names]
if missing:
    sys.exit(f"the wheel lacks {missing}")
print(f"wheel: {sys.argv[1]} ({len(names)} files)")
PY
du -h "$wheel" | cut -f1 | sed 's/^/wheel size: /'
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install -q torch==2.13.0
"$work/venv/bin/pip" install -q "$wheel"
cp "$repo/data/page.jpg" "$repo/data/line1.inkml" "$work/"
cd "$work"
start=$(date +%s.%N)
out="$(HF_HUB_OFFLINE=1 "$work/venv/bin/hwr" recognize page.jpg line1.inkml)"
end=$(date +%s.%N)
echo "$out"
echo "$out" | grep -q "thank you for the seeds" || { echo "the sample was not read" >&2; exit 1; }
python3 -c "print(f'cold start, hwr recognize page + ink: {$end - $start:.1f} s')"
