#!/usr/bin/env bash
# Smoke test of a built bundle (packaging/build_bundle.sh), offscreen, from a temporary folder:
#   packaging/smoke_test.sh BUNDLE_DIR          (BUNDLE_DIR: the folder holding hwr and hwr-gui)
# 1. every shared library of the bundle finds its dependencies (ldd; catches over-trimming of
#    pieces the offscreen run does not load, such as the xcb and wayland platform plugins);
# 2. the CLI executable prints its version and recognises data/page.jpg and data/line1.inkml;
# 3. it transcribes a folder with two worker processes, and fine-tunes the ink model for one epoch on the sample ink, and the new model reads;
# 4. the GUI executable shows its first window (offscreen) and quits with status 0;
# 5. the bundle holds the embedded models, the LM, the schemas and the icon (on Linux, also
#    libxcb-cursor, which Qt's X11 plugin loads by name at start-up).
# Runs with a private HOME (no settings, caches or user models of yours are used).
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 BUNDLE_DIR" >&2; exit 2; }
repo="$(cd "$(dirname "$0")/.." && pwd)"
bundle="$(cd "$1" && pwd)"
work="$(mktemp -d -t hwr-smoke-XXXXXX)"
trap 'rm -rf "$work"' EXIT
fail() { echo "SMOKE TEST FAILED: $*" >&2; exit 1; }

[ -x "$bundle/hwr" ] && [ -x "$bundle/hwr-gui" ] || fail "$bundle lacks the executables hwr and hwr-gui"
internal="$bundle/_internal"
for f in hwr/models_data/ink_default.safetensors hwr/models_data/image_default.safetensors \
         hwr/models_data/lm_en.arpa.gz hwr/models_data/ink_default.decoder.json hwr/models_data/image_default.md \
         hwr/formats/schemas/alto-4-4.xsd hwr/formats/schemas/pagecontent-2019-07-15.xsd \
         hwr/formats/schemas/xlink.xsd hwr/formats/schemas/README.md hwr_gui/icons/hwr-256.png; do
  [ -f "$internal/$f" ] || fail "the bundle lacks $f"
done

for f in share/applications/hwr.desktop share/icons/hicolor/256x256/apps/hwr.png \
         share/icons/hicolor/48x48/apps/hwr.png share/icons/hicolor/scalable/apps/hwr.svg; do
  [ -f "$bundle/$f" ] || fail "the bundle lacks $f"
done
if command -v desktop-file-validate > /dev/null; then
  desktop-file-validate "$bundle/share/applications/hwr.desktop" || fail "desktop-file-validate hwr.desktop"
fi

if command -v ldd > /dev/null; then
  # a missing Qt / PySide / torch / OpenCV library means the bundle was over-trimmed; other missing
  # libraries are system ones that optional plugins load when present (GTK for the gtk3 theme, ...)
  libpath="$internal:$internal/PySide6/Qt/lib:$internal/torch/lib"
  missing="$(find "$bundle" -name '*.so*' -type f -print0 \
             | xargs -0 -n 20 env LD_LIBRARY_PATH="$libpath" ldd 2>/dev/null \
             | awk '/not found/ {print $1}' | sort -u || true)"
  ours="$(echo "$missing" | grep -E 'Qt6|shiboken|pyside|torch|c10|opencv|cv2|python' || true)"
  [ -z "$ours" ] || fail "libraries the bundle lacks:"$'\n'"$ours"
  others="$(echo "$missing" | grep -v -E 'Qt6|shiboken|pyside|torch|c10|opencv|cv2|python' | tr '\n' ' ' || true)"
  echo "libraries: the bundle's own all found${others:+; system libraries not on this machine (optional plugins): $others}"
fi
if [ "$(uname -s)" = Linux ]; then
  # Qt >= 6.5's X11 plugin dlopens libxcb-cursor (ldd does not list it); PyInstaller bundles it only
  # where the build machine had it, and without it the app cannot start on a desktop that lacks it
  [ -f "$internal/libxcb-cursor.so.0" ] || fail "the bundle lacks libxcb-cursor.so.0: install libxcb-cursor0 (Debian, Ubuntu) on the build machine and build again"
fi

export HOME="$work/home" XDG_CONFIG_HOME="$work/home/.config" XDG_DATA_HOME="$work/home/.local/share" \
       XDG_CACHE_HOME="$work/home/.cache" QT_QPA_PLATFORM=offscreen HF_HUB_OFFLINE=1
mkdir -p "$HOME"
cp "$repo/data/page.jpg" "$repo/data/line1.inkml" "$work/"
cd "$work"

"$bundle/hwr" --version | grep -q '^hwr, version ' || fail "hwr --version"
start=$(date +%s.%N)
out="$("$bundle/hwr" recognize page.jpg line1.inkml)" || fail "hwr recognize exited with $?"
end=$(date +%s.%N)
echo "$out"
# each input's text follows a "# NAME" line; both the page and the ink hold this phrase
echo "$out" | python3 -c "
import sys
texts, name = {}, None
for line in sys.stdin.read().splitlines():
    if line.startswith('# '):
        name = line[2:]
        texts[name] = ''
    elif name:
        texts[name] += line + chr(10)
bad = [n for n in ('page.jpg', 'line1.inkml') if 'thank you for the seeds' not in texts.get(n, '')]
sys.exit(f'not read: {bad}' if bad else 0)" || fail "the sample page or ink was not read"
echo "hwr recognize page + ink (bundle, fresh process): $(python3 -c "print(f'{$end - $start:.1f}')") s"
"$bundle/hwr" recognize --format jsonl line1.inkml | python3 -c "
import json, sys
obj = json.loads(sys.stdin.readline())
assert obj['text'] and 'error' not in obj, obj
print('ink as jsonl:', obj['text'])" || fail "hwr recognize --format jsonl"

# worker processes start in the frozen app (multiprocessing spawn: the executable re-runs itself)
mkdir batch && cp page.jpg line1.inkml batch/
"$bundle/hwr" transcribe batch --out batch-out --workers 2 --formats txt,alto,page > batch.log 2>&1 \
  || { rc=$?; tail -20 batch.log >&2; fail "hwr transcribe --workers 2 exited with $rc"; }
for f in page.txt page.alto.xml page.page.xml line1.txt; do
  [ -s "batch-out/$f" ] || fail "hwr transcribe --workers 2 did not write $f"
done
grep -q "thank you for the seeds" batch-out/page.txt || fail "hwr transcribe: the page was not read"
echo "hwr transcribe --workers 2: $(ls batch-out | tr '\n' ' ')"

# training runs (torch's optimiser imports torch._dynamo / _inductor: catches over-trimming of
# torch): one epoch of fine-tuning the ink model on the three sample lines, then the new model reads
mkdir ink && cp "$repo"/data/line[123].inkml ink/
"$bundle/hwr" train --data ink --val ink --base ink_default --epochs 1 --batch-size 3 --out tuned.safetensors \
  > train.log 2>&1 || { rc=$?; tail -20 train.log >&2; fail "hwr train exited with $rc"; }
tuned="$("$bundle/hwr" recognize --model tuned.safetensors line1.inkml)" || fail "hwr recognize --model exited with $?"
echo "$tuned" | grep -q "seeds" || fail "the fine-tuned model did not read line1.inkml: $tuned"
echo "hwr train: one epoch on the sample ink, the model reads: $(echo "$tuned" | tail -1)"

gui="$(timeout 120 "$bundle/hwr-gui" --quit-after-first-window 2>"$work/gui.err")" || {
  rc=$?; cat "$work/gui.err" >&2; fail "hwr-gui exited with $rc"; }
echo "$gui"
echo "$gui" | grep -q "first window shown" || fail "hwr-gui did not show its window"
echo "smoke test passed: $bundle"
