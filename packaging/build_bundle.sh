#!/usr/bin/env bash
# Build the one-folder desktop bundle of hwr (PyInstaller, CPU torch) into OUT_DIR:
#   packaging/build_bundle.sh OUT_DIR
# Gives OUT_DIR/hwr/ (the bundle: executables hwr-gui and hwr, their libraries under
# _internal/, the .desktop file and icons under share/) and OUT_DIR/hwr-<version>-<os>-<arch>.tar.gz, and prints their sizes.
# OUT_DIR must lie outside the checkout (or in its git-ignored dist/ or build/ folder).
#
# Steps: a build virtual environment (OUT_DIR/venv, reused if present) gets the CPU build of
# torch, then the wheel of this checkout with its extras `gui` and `bundle` (PySide6,
# PyInstaller); PyInstaller then runs packaging/hwr.spec from OUT_DIR.
# Environment:
#   PYTHON             the Python that makes the build venv (default: python3)
#   HWR_TORCH          pip arguments that install the CPU torch (default: torch from the
#                      PyTorch CPU index; on a machine with a CPU wheel at hand: "torch==2.13.0")
#   HWR_BUNDLE_VENV    use this existing environment instead of OUT_DIR/venv (must have
#                      torch, PySide6 and PyInstaller; the wheel is (re)installed into it)
#   HWR_BUNDLE_TRIM=0  build without trimming (to measure what trimming saves)
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 OUT_DIR" >&2; exit 2; }
repo="$(cd "$(dirname "$0")/.." && pwd)"
mkdir -p "$1"
out="$(cd "$1" && pwd)"
case "$out/" in
  "$repo/dist/"*|"$repo/build/"*) ;;
  "$repo/"*) echo "OUT_DIR lies inside the checkout: use a folder outside it, or $repo/dist" >&2; exit 2 ;;
esac
venv="${HWR_BUNDLE_VENV:-$out/venv}"
if [ ! -x "$venv/bin/python" ]; then
  "${PYTHON:-python3}" -m venv "$venv"
fi
py="$venv/bin/python"
if ! "$py" -c "import torch" 2>/dev/null; then
  # shellcheck disable=SC2086  (HWR_TORCH holds several pip arguments)
  "$py" -m pip install -q ${HWR_TORCH:-torch --index-url https://download.pytorch.org/whl/cpu}
fi
"$py" -c "import torch, sys; sys.exit(0 if torch.version.cuda is None else 'the build venv has a CUDA torch: the bundle takes the CPU one (see HWR_TORCH)')"

# the wheel, built from a copy of the sources: no build/ or egg-info in the checkout (a stale
# build/lib would put deleted files into the wheel)
rm -rf "$out/wheel" "$out/src"
mkdir -p "$out/src"
cp -r "$repo/hwr" "$repo/gui" "$repo/setup.py" "$repo/pyproject.toml" "$repo/README.md" "$repo/LICENSE" "$out/src/"
find "$out/src" -name __pycache__ -prune -exec rm -rf {} +
"$py" -m pip wheel -q --no-deps -w "$out/wheel" "$out/src"
wheel="$(ls "$out"/wheel/hwr-*.whl)"
"$py" -m pip install -q --force-reinstall --no-deps "$wheel"
"$py" -m pip install -q "$wheel[gui,bundle]"  # the dependencies (already present ones are kept)

start=$(date +%s)
# from OUT_DIR, so that the checkout's own hwr/ is not on the path: the installed wheel is bundled
(cd "$out" && "$py" -m PyInstaller --noconfirm --log-level "${HWR_PYI_LOG_LEVEL:-WARN}" \
   --distpath "$out" --workpath "$out/pyinstaller-work" "$repo/packaging/hwr.spec")
echo "build: $(( $(date +%s) - start )) s"

bundle="$out/hwr"
# desktop integration files, laid out as under /usr/share (see the README: installing the bundle)
install -Dm644 "$repo/packaging/hwr.desktop" "$bundle/share/applications/hwr.desktop"
for s in 48 128 256; do
  install -Dm644 "$repo/gui/icons/hwr-$s.png" "$bundle/share/icons/hicolor/${s}x${s}/apps/hwr.png"
done
install -Dm644 "$repo/gui/icons/hwr.svg" "$bundle/share/icons/hicolor/scalable/apps/hwr.svg"
version="$("$bundle/hwr" --version | awk '{print $NF}')"
archive="$out/hwr-$version-$(uname -s | tr 'A-Z' 'a-z')-$(uname -m).tar.gz"
tar -C "$out" -czf "$archive" hwr
python3 - "$bundle" "$archive" <<'PY'
import os, sys
from pathlib import Path
bundle, archive = Path(sys.argv[1]), Path(sys.argv[2])
files = [p for p in bundle.rglob("*") if p.is_file() and not p.is_symlink()]
raw = sum(p.stat().st_size for p in files)
print(f"bundle: {bundle} ({len(files)} files, {raw / 1e6:.0f} MB)")
print(f"archive: {archive} ({archive.stat().st_size / 1e6:.0f} MB, tar.gz)")
big = {}
for p in files:
    rel = p.relative_to(bundle / "_internal").parts if (bundle / "_internal") in p.parents else ("(top)",)
    key = "/".join(rel[:2]) if rel[0] in ("torch", "PySide6", "cv2") else rel[0]
    big[key] = big.get(key, 0) + p.stat().st_size
for key, size in sorted(big.items(), key=lambda kv: -kv[1])[:8]:
    print(f"  {size / 1e6:7.1f} MB  {key}")
PY
