#!/usr/bin/env bash
# Build the wheel, install it into a fresh virtual environment (CPU torch first, then the
# wheel and its dependencies from the package index), and recognise the sample page and an
# ink file from a folder outside the checkout, with no network for the recognition itself.
# Checks that the wheel holds the models, the LM, the ALTO/PAGE schemas and the icon, and that
# the installed library validates its own PAGE output against the packaged schema (xmlschema).
# Prints the wheel's size and the cold-start time of `hwr recognize`.
#   packaging/check_wheel.sh [WORK_DIR]
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="${1:-$(mktemp -d -t hwr-wheel-XXXXXX)}"
mkdir -p "$work"
# built from a copy of the sources: no build/ or egg-info left in the checkout (a stale build/lib
# would put deleted files into the wheel)
mkdir -p "$work/src"
cp -r "$repo/hwr" "$repo/gui" "$repo/setup.py" "$repo/pyproject.toml" "$repo/README.md" "$repo/LICENSE" "$work/src/"
find "$work/src" -name __pycache__ -prune -exec rm -rf {} +
python3 -m pip wheel "$work/src" --no-deps -q -w "$work/dist"
wheel="$(ls "$work"/dist/hwr-*.whl)"
python3 - "$wheel" <<'PY'
import sys, zipfile
names = zipfile.ZipFile(sys.argv[1]).namelist()
need = ["hwr/models_data/ink_default.safetensors", "hwr/models_data/image_default.safetensors",
        "hwr/models_data/lm_en.arpa.gz", "hwr/models_data/ink_default.decoder.json", "hwr/models_data/lm_en.md",
        "hwr/formats/schemas/alto-4-4.xsd", "hwr/formats/schemas/pagecontent-2019-07-15.xsd",
        "hwr/formats/schemas/xlink.xsd", "hwr/formats/schemas/README.md",
        "hwr_gui/app.py", "hwr_gui/icons/hwr-256.png"]
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
"$work/venv/bin/pip" install -q xmlschema
"$work/venv/bin/hwr" segment --format page --overwrite page.jpg
"$work/venv/bin/python" -c "
import sys, hwr.formats as f
errors = f.validate('page.page.xml')
print('page.page.xml against', f.schema_path('page'), ':', errors or 'valid')
sys.exit(1 if errors else 0)"
