"""``hwr segment``: page images -> text lines (polygon, baseline, reading order).

Registered on the main group by ``cli.add_command(segment)``.  No torch import.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click


def _writer(fmt: str):
    try:
        import hwr.formats as formats
    except ImportError as e:
        raise click.ClickException(f"--format {fmt} needs the hwr.formats writers, which are not installed ({e})")
    fn = getattr(formats, f"write_{fmt}", None)
    if fn is None:
        raise click.ClickException(f"--format {fmt}: hwr.formats has no write_{fmt}")
    return fn


@click.command("segment")
@click.argument("images", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["jsonl", "page", "alto"]), default="jsonl", show_default=True,
              help="jsonl: one JSON object per image on stdout; page / alto: an XML file per image.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the XML files (default: beside each image, IMAGE_STEM.page.xml or .alto.xml).")
@click.option("--method", type=click.Choice(["smear", "strips"]), default="smear", show_default=True,
              help="Line finder: smear (anisotropic blur + components) or strips (projection profiles per strip).")
@click.option("--overwrite", is_flag=True,
              help="Replace existing XML files (by default an image whose XML exists is an error: a PAGE or "
                   "ALTO file beside an image is often its ground truth).")
@click.option("--no-orientation", is_flag=True, help="Do not turn pages (0/90/180/270); only deskew.")
def segment(images: tuple[Path, ...], fmt: str, out_dir: Path | None, method: str, overwrite: bool,
            no_orientation: bool) -> None:
    """Find the text lines of page IMAGES (JPEG, PNG, TIFF, ...): polygon, baseline and
    reading order of each line, in the original image's pixel coordinates.
    Errors are reported per image; the exit status is 1 if any image failed."""
    from hwr.segmentation import segment_page

    write = _writer(fmt) if fmt != "jsonl" else None
    if out_dir is not None and write is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
    failed = 0
    for i, path in enumerate(images):
        click.echo(f"[{i + 1}/{len(images)}] {path}", err=True)
        # IMAGE.page.xml / IMAGE.alto.xml: never the IMAGE.xml that is often the page's ground truth
        dest = (out_dir or path.parent) / (path.stem + (_suffix(fmt) if write is not None else ""))
        if write is not None and dest.exists() and not overwrite:
            failed += 1
            click.echo(f"hwr: error: {dest} exists (use --overwrite to replace it)", err=True)
            continue
        try:
            page = segment_page(path, method=method, orientation=not no_orientation)
            err = None
        except Exception as e:  # one bad image never stops the others
            page, err = None, str(e) if str(path) in str(e) else f"{path}: {type(e).__name__}: {e}"
        if err:
            failed += 1
            click.echo(f"hwr: error: {err}", err=True)
        if write is None:
            obj = {"input": str(path), "text": "", "lines": [ln.to_dict() for ln in page.lines] if page else []}
            if err:
                obj["error"] = err
            click.echo(json.dumps(obj, ensure_ascii=False))
        elif page is not None:
            try:
                write(page, dest)
            except Exception as e:
                failed += 1
                click.echo(f"hwr: error: {dest}: {type(e).__name__}: {e}", err=True)
                continue
            click.echo(str(dest), err=True)
    if failed:
        click.echo(f"hwr: {failed} of {len(images)} images failed", err=True)
        sys.exit(1)


def _suffix(fmt: str) -> str:
    from hwr.formats import FORMATS

    return FORMATS[fmt].suffix
