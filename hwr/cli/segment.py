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
              help="jsonl: one JSON object per image on stdout; page / alto: an XML file per image "
                   "(page: one per page of a multi-page TIFF).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the XML files (default: beside each image, IMAGE_STEM.page.xml or .alto.xml; "
                   "IMAGE_STEM.pN.page.xml for page N of a multi-page TIFF).")
@click.option("--method", type=click.Choice(["smear", "strips"]), default="smear", show_default=True,
              help="Line finder: smear (anisotropic blur + components) or strips (projection profiles per strip).")
@click.option("--overwrite", is_flag=True,
              help="Replace existing XML files (by default an image whose XML exists is an error: a PAGE or "
                   "ALTO file beside an image is often its ground truth).")
@click.option("--no-orientation", is_flag=True, help="Do not turn pages (0/90/180/270); only deskew.")
@click.option("--no-verifier", is_flag=True,
              help="Keep the lines that the scrap rules keep, without the line verifier (a small network "
                   "trained on archival letters and wills that drops stamps, notes and signatures).")
@click.option("--no-paper", is_flag=True,
              help="Segment the page as it is, even where it looks like a photograph of a sheet on a table (by "
                   "default such a sheet is found and flattened first; the lines are still given on the photograph).")
def segment(images: tuple[Path, ...], fmt: str, out_dir: Path | None, method: str, overwrite: bool,
            no_orientation: bool, no_verifier: bool, no_paper: bool) -> None:
    """Find the text lines of page IMAGES (JPEG, PNG, TIFF, ...): polygon, baseline and
    reading order of each line, in the original image's pixel coordinates.

    Every page of a multi-page TIFF is segmented (one page in memory at a time): in jsonl
    its lines carry their 1-based "page" and the object its number of "pages"; --format
    page writes one file per page (IMAGE_STEM.p1.page.xml, .p2...), --format alto one
    file with a Page element per page.  Errors are reported per image (and per page);
    the exit status is 1 if any image or page failed."""
    from hwr.imaging.load import count_pages, load_color, load_page
    from hwr.segmentation import segment_page

    write = _writer(fmt) if fmt != "jsonl" else None
    if out_dir is not None and write is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
    failed = 0
    for i, path in enumerate(images):
        click.echo(f"[{i + 1}/{len(images)}] {path}", err=True)
        pages: list = []
        errors: list[str] = []
        n = 1
        try:
            n = count_pages(path)
            dests = _destinations(fmt, out_dir or path.parent, path.stem, n) if write is not None else []
            taken = [d for d in dests if d.exists()]
            if taken and not overwrite:  # an earlier output is never replaced unless asked
                raise _Exists(f"{taken[0]} exists (use --overwrite to replace it)")
            for k in range(n):
                if n > 1:
                    click.echo(f"  page {k + 1}/{n}", err=True)
                try:
                    gray = load_page(path, k)
                    page = segment_page(gray, method=method, orientation=not no_orientation, name=str(path),
                                        color=load_color(path, k), verifier=not no_verifier,
                                        paper=not no_paper)
                    del gray
                except Exception as e:  # one bad page never stops the others
                    msg = _message(e, path)
                    if n > 1 and f"page {k + 1}" not in msg:
                        msg = f"{path}: page {k + 1}: {msg}"
                    errors.append(msg)
                    continue
                page.number = k + 1
                if n > 1:
                    for ln in page.lines:
                        ln.page = k + 1
                pages.append(page)
        except _Exists as e:
            errors.append(str(e))
        except Exception as e:  # one bad image never stops the others
            errors.append(_message(e, path))
        err = "; ".join(errors) or None
        if err:
            failed += 1
            click.echo(f"hwr: error: {err}", err=True)
        if write is None:
            obj = {"input": str(path), "text": "", "lines": [ln.to_dict() for p in pages for ln in p.lines]}
            if n > 1:
                obj["pages"] = n
            if err:
                obj["error"] = err
            click.echo(json.dumps(obj, ensure_ascii=False))
            continue
        if not pages:
            continue
        if fmt == "alto":  # one document, a Page element per page
            jobs = [(pages if n > 1 else pages[0], dests[0])]
        else:
            jobs = [(p, dests[p.number - 1]) for p in pages]
        for obj, dest in jobs:
            try:
                write(obj, dest)
            except Exception as e:
                if not err:
                    failed += 1
                    err = str(e)
                click.echo(f"hwr: error: {dest}: {type(e).__name__}: {e}", err=True)
                continue
            click.echo(str(dest), err=True)
    if failed:
        click.echo(f"hwr: {failed} of {len(images)} images failed", err=True)
        sys.exit(1)


class _Exists(Exception):
    pass


def _message(e: Exception, path: Path) -> str:
    return str(e) if str(path) in str(e) else f"{path}: {type(e).__name__}: {e}"


def _destinations(fmt: str, folder: Path, stem: str, n: int) -> list[Path]:
    """The XML files of an image of ``n`` pages: IMAGE_STEM.page.xml (one page), or one per
    page (IMAGE_STEM.p1.page.xml, ...) for PAGE XML; always one file for ALTO.  Never the
    IMAGE.xml that is often the page's ground truth."""
    suffix = _suffix(fmt)
    if n == 1 or fmt == "alto":
        return [folder / (stem + suffix)]
    return [folder / f"{stem}.p{k}{suffix}" for k in range(1, n + 1)]


def _suffix(fmt: str) -> str:
    from hwr.formats import FORMATS

    return FORMATS[fmt].suffix
