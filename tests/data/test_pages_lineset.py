"""PAGE / ALTO readers (incl. hostile XML), line cropping, page splits, line datasets, import CLI."""

import cv2
import h5py
import numpy as np
import pytest
from click.testing import CliRunner

from conftest import SHARED, typed_page
from hwr.cli.main import cli
from hwr.data.alto import read_alto
from hwr.data.lineset import LineSample, LineSet, dataset_format, write_lineset
from hwr.data.pagexml import read_page_xml
from hwr.data.pages import PageLine, crop_line, find_pages, read_page, split_pages
from hwr.errors import InputError
from hwr.imaging.line import line_preprocessing

PAGE_2019 = """<?xml version="1.0" encoding="UTF-8"?>
<PcGts xmlns="http://schema.primaresearch.org/PAGE/gts/pagecontent/2019-07-15">
 <Page imageFilename="p1.png" imageWidth="400" imageHeight="200">
  <TextRegion id="r1"><Coords points="0,0 400,0 400,200 0,200"/>
   <TextLine id="l1"><Coords points="10,20 390,20 390,80 10,80"/>
    <Baseline points="10,70 390,70"/>
    <Word id="w1"><TextEquiv><Unicode>not this</Unicode></TextEquiv></Word>
    <TextEquiv index="1"><Unicode>second choice</Unicode></TextEquiv>
    <TextEquiv index="0"><Unicode>Été à Kew</Unicode></TextEquiv>
   </TextLine>
   <TextLine id="l2"><Coords points="10,110 390,110 390,180 10,180"/><TextEquiv><Unicode></Unicode></TextEquiv></TextLine>
  </TextRegion>
 </Page>
</PcGts>"""

PAGE_2013 = PAGE_2019.replace("2019-07-15", "2013-07-15")

ALTO_4 = """<?xml version="1.0" encoding="UTF-8"?>
<alto xmlns="http://www.loc.gov/standards/alto/ns-v4#">
 <Description><MeasurementUnit>pixel</MeasurementUnit>
  <sourceImageInformation><fileName>p1.png</fileName></sourceImageInformation></Description>
 <Layout><Page WIDTH="400" HEIGHT="200"><PrintSpace>
  <TextBlock ID="b1">
   <TextLine ID="t1" BASELINE="10 70 390 70" HPOS="10" VPOS="20" WIDTH="380" HEIGHT="60">
    <Shape><Polygon POINTS="10 20 390 20 390 80 10 80"/></Shape>
    <String CONTENT="Ceci est"/><SP/><String CONTENT="mon testament"/>
   </TextLine>
   <TextLine ID="t2" BASELINE="170" HPOS="10" VPOS="110" WIDTH="380" HEIGHT="70">
    <String CONTENT="deux"/>
   </TextLine>
  </TextBlock></PrintSpace></Page></Layout>
</alto>"""

ALTO_2 = ALTO_4.replace("http://www.loc.gov/standards/alto/ns-v4#", "http://www.loc.gov/standards/alto/ns-v2#")


def _page_image(path):
    img = np.full((200, 400), 230, np.uint8)
    cv2.putText(img, "hello world", (20, 70), cv2.FONT_HERSHEY_SIMPLEX, 1.6, 30, 3)
    cv2.putText(img, "second line", (20, 160), cv2.FONT_HERSHEY_SIMPLEX, 1.6, 30, 3)
    cv2.imwrite(str(path), img)
    return img


@pytest.mark.parametrize("xml", [PAGE_2019, PAGE_2013])
def test_page_xml(tmp_path, xml):
    p = tmp_path / "p1.xml"
    p.write_text(xml, encoding="utf-8")
    doc = read_page_xml(p)
    assert doc.image == "p1.png" and (doc.width, doc.height) == (400, 200)
    assert [ln.id for ln in doc.lines] == ["l1", "l2"]
    assert doc.lines[0].text == "Été à Kew"  # the line's own TextEquiv, index 0; not the word's
    assert doc.lines[0].polygon[0] == (10.0, 20.0) and doc.lines[0].baseline == [(10.0, 70.0), (390.0, 70.0)]
    assert read_page(p).lines[0].text == "Été à Kew"


@pytest.mark.parametrize("xml", [ALTO_4, ALTO_2])
def test_alto(tmp_path, xml):
    p = tmp_path / "p1.xml"
    p.write_text(xml, encoding="utf-8")
    doc = read_alto(p)
    assert doc.image == "p1.png"
    assert doc.lines[0].text == "Ceci est mon testament"
    assert doc.lines[0].baseline == [(10.0, 70.0), (390.0, 70.0)]
    assert doc.lines[1].polygon == [(10, 110), (390, 110), (390, 180), (10, 180)]  # from the box
    assert doc.lines[1].baseline == [(10, 170), (390, 170)]  # ALTO 2/3 single y
    assert read_page(p).lines[1].text == "deux"


@pytest.mark.parametrize("hostile", [
    '<?xml version="1.0"?><!DOCTYPE PcGts [<!ENTITY x SYSTEM "file:///etc/passwd">]><PcGts><Page>&x;</Page></PcGts>',
    '<?xml version="1.0"?><!DOCTYPE alto [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
    '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]><alto>&c;</alto>',
])
def test_hostile_xml_refused(tmp_path, hostile):
    p = tmp_path / "evil.xml"
    p.write_text(hostile)
    with pytest.raises(InputError, match="unsafe"):
        read_page(p)


def test_not_page_or_alto(tmp_path):
    p = tmp_path / "x.xml"
    p.write_text("<html/>")
    with pytest.raises(InputError, match="neither"):
        read_page(p)
    p.write_text("<PcGts><Page><TextLine><Coords points='1,2 3'/></TextLine></Page></PcGts>")
    with pytest.raises(InputError, match="odd number"):
        read_page(p)


def test_crop_masks_outside_polygon_and_straightens():
    page = np.full((100, 200), 50, np.uint8)  # dark outside ...
    page[20:60, 20:180] = 220  # ... paper inside the polygon
    page[35:45, 30:170] = 10  # a stroke
    line = PageLine("l", [(20, 20), (180, 20), (180, 60), (20, 60)])
    crop = crop_line(page, line, pad=0)
    assert crop.shape == (41, 161) and crop.min() == 10 and crop.max() == 220
    tri = PageLine("t", [(20, 20), (180, 20), (20, 60)])
    c2 = crop_line(page, tri, pad=0)
    assert c2[-1, -1] == 220  # outside the triangle: paper grey, not the dark page
    vertical = PageLine("v", [(20, 20), (180, 20), (180, 60), (20, 60)], baseline=[(30, 60), (30, 20)])
    assert crop_line(page, vertical, pad=0).shape[0] > 150  # rotated by 90 degrees
    with pytest.raises(InputError):
        crop_line(page, PageLine("d", [(1, 1), (2, 2)]))
    with pytest.raises(InputError):
        crop_line(page, PageLine("o", [(500, 500), (600, 500), (600, 600)]))


def test_a_line_running_into_a_shadow_is_cut_with_the_paper_of_each_part():
    """Around the polygon the crop is filled with the paper's grey column by column: in the
    shaded part, the shaded paper's.  Filled with the lit paper's grey, the shaded paper
    within the polygon read as ink to the line normaliser, which then kept the whole band."""
    from hwr.imaging.line import normalize_line
    from tests.synth import synth_line_image

    text = synth_line_image("the seeds you sent last week")  # 60 px high, paper 230
    h, w = text.shape
    page = np.full((h + 120, w), 230, np.uint8)
    page[60:60 + h] = text
    # from the writing's middle on in shadow, its edge soft over twice the band's height (a
    # phone's or a hand's shadow is softer still on a page of writing this size)
    shade = np.where(np.arange(w) < 200, 1.0, 0.45)
    shade = np.convolve(np.pad(shade, 60, mode="edge"), np.ones(121) / 121, mode="valid")
    dim = (page * shade[None, :]).astype(np.uint8)
    # the band about the writing, and a tall flourish at its left end: the crop's box is
    # twice the band's height, and above the band it is filled
    poly = [(5, 55), (20, 0), (35, 55), (w - 5, 55), (w - 5, 125), (5, 125)]
    lit, shaded = crop_line(page, PageLine("l", poly)), crop_line(dim, PageLine("l", poly))
    assert abs(int(shaded[5, -10]) - int(dim[100, -10])) <= 3  # the shaded paper's grey there
    assert abs(int(shaded[5, 60]) - 230) <= 3  # the lit paper's here
    a, b = normalize_line(lit), normalize_line(shaded)
    assert abs(a.shape[1] - b.shape[1]) <= 0.05 * a.shape[1]  # the same writing at the same scale
    assert (b > 0.5).mean() < 1.3 * (a > 0.5).mean()


def test_split_is_deterministic_per_collection(tmp_path):
    for c in ("a", "b"):
        (tmp_path / c).mkdir()
        for i in range(7):
            (tmp_path / c / f"{c}{i}.xml").write_text("<x/>")
    pages = find_pages(tmp_path)
    s = split_pages(pages, holdout_every=3)
    assert [p.stem for p in s["a"][1]] == ["a2", "a5"] and len(s["a"][0]) == 5
    assert s == split_pages(find_pages(tmp_path), holdout_every=3)
    s2 = split_pages(pages, held_back={"b0"})
    assert [p.stem for p in s2["b"][1]] == ["b0"] and s2["a"][1] == []


def test_lineset_roundtrip_and_schema(tmp_path):
    prep = line_preprocessing(height=24, margin=1)
    rng = np.random.default_rng(0)
    samples = [LineSample(rng.integers(0, 255, (24, w), dtype=np.uint8), f"t{w}", "w", "s", "c", f"id{w}")
               for w in (5, 40, 17)]
    p = tmp_path / "l.h5"
    assert write_lineset(p, samples, prep, split="val") == 3
    ds = LineSet(p)
    assert len(ds) == 3 and ds.height == 24 and ds.split == "val" and ds.preprocessing == prep
    for a, b in zip(samples, (ds[i] for i in range(3))):
        assert np.array_equal(a.image, b.image) and a.text == b.text and a.id == b.id and b.collection == "c"
    ds.load_all()
    assert np.array_equal(ds.image(1), samples[1].image)
    assert dataset_format(p) == "hwr-lineset"
    import pickle

    assert len(pickle.loads(pickle.dumps(ds))) == 3  # for DataLoader workers: no open file inside
    with pytest.raises(ValueError):
        write_lineset(tmp_path / "bad.h5", [LineSample(np.zeros((10, 5), np.uint8), "x")], prep)
    assert not (tmp_path / "bad.h5").exists()
    ds.close()
    # corrupt: widths disagree with offsets
    with h5py.File(p, "a") as f:
        f["width"][0] = 6
    with pytest.raises(InputError, match="corrupt"):
        LineSet(p)
    (tmp_path / "junk.h5").write_bytes(b"junk")
    with pytest.raises(InputError):
        LineSet(tmp_path / "junk.h5")


def test_import_pages_cli(tmp_path):
    root = tmp_path / "pages"
    for coll, xml in (("kew", PAGE_2019), ("poilus", ALTO_4)):
        (root / coll).mkdir(parents=True)
        for i in range(3):
            (root / coll / f"p{i}.xml").write_text(xml.replace("p1.png", f"p{i}.png"), encoding="utf-8")
            _page_image(root / coll / f"p{i}.png")
    out = tmp_path / "train.h5"
    res = CliRunner().invoke(cli, ["import", "pages", str(root), "-o", str(out), "--holdout-every", "3"])
    assert res.exit_code == 0, res.output
    tr, va = LineSet(out), LineSet(tmp_path / "train-val.h5")
    assert len(tr) == 2 * 2 + 2 * 2 - 0 - 2  # kew: 1 transcribed line per page; poilus: 2
    assert sorted(set(tr.collections)) == ["kew", "poilus"] and len(va) == 3
    assert {i.split("/")[1] for i in va.ids} == {"p2"}
    assert "Été à Kew" in tr.texts and tr.height == 48


@pytest.mark.skipif(not (SHARED / "pages").is_dir(), reason="shared real pages not present")
def test_real_pages_parse():
    pages = find_pages(SHARED / "pages")
    assert set(pages) == {"joseph-hooker-htr", "testaments-de-poilus"}
    for paths in pages.values():
        doc = read_page(paths[0])
        assert doc.lines and all(len(ln.polygon) >= 3 for ln in doc.lines)


def test_lines_cut_by_the_band_of_their_baselines(tmp_path):
    from hwr.data.pages import iter_page_lines
    from hwr.segmentation.crops import READ_DOWN, READ_UP

    xml = typed_page(tmp_path)
    poly = [c for _, c in iter_page_lines(xml, "c")]
    band = [c for _, c in iter_page_lines(xml, "c", cut="band")]
    assert len(poly) == len(band) == 3
    for p, b in zip(poly, band):
        assert p.shape[0] <= 18 + 6  # the polygon's crop loses the ascenders ("K", "l", "f", "t", "h", "d")
        assert b.shape[0] == pytest.approx((READ_UP + READ_DOWN) * 100 + 5, abs=3)  # spacing 100
        rows = np.flatnonzero((b < 128).any(1))
        assert rows[0] > 5 and rows[-1] < b.shape[0] - 3  # all the ink is inside, with paper around it
        assert (b < 128).sum() > 1.5 * (p < 128).sum()
    with pytest.raises(ValueError, match="cut"):
        next(iter_page_lines(xml, "c", cut="box"))


def test_import_pages_cli_cut_band(tmp_path, monkeypatch):
    root = tmp_path / "pages" / "kew"
    root.mkdir(parents=True)
    for i in range(2):
        typed_page(root, f"p{i}")
    out = {}
    for cut in ("polygon", "band"):
        out[cut] = tmp_path / f"{cut}.h5"
        res = CliRunner().invoke(cli, ["import", "pages", str(root.parent), "-o", str(out[cut]), "--holdout-every", "0",
                                       "--cut", cut])
        assert res.exit_code == 0, res.output
    tr_p, tr_b = LineSet(out["polygon"]), LineSet(out["band"])
    assert len(tr_p) == len(tr_b) == 6 and tr_p.texts == tr_b.texts
    # the same lines, cut differently
    assert not np.array_equal(tr_p.image(0), tr_b.image(0))
    # the default is the band, for `hwr import pages` and for training on a folder of pages
    res = CliRunner().invoke(cli, ["import", "pages", str(root.parent), "-o", str(tmp_path / "d.h5"),
                                   "--holdout-every", "0"])
    assert res.exit_code == 0, res.output
    assert np.array_equal(LineSet(tmp_path / "d.h5").image(0), tr_b.image(0))
    from hwr.training.sources import prepare_sources

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    src = prepare_sources([root.parent], [root.parent], kind="image")
    trained, validated = LineSet(src.train[0]), LineSet(src.val[0])
    # training cuts each line by the three bands, the reading band first; validation by the band alone
    assert sorted(trained.ids) == sorted(tr_b.ids * 3)
    j = trained.ids.index(tr_b.ids[0])
    assert np.array_equal(trained.image(j), tr_b.image(0))
    assert sorted(validated.ids) == sorted(tr_b.ids)
    assert np.array_equal(validated.image(validated.ids.index(tr_b.ids[0])), tr_b.image(0))
    assert any("each line cut by 3 bands" in n for n in src.notes)


def test_training_lines_cut_by_several_bands(tmp_path):
    """`hwr import pages --band-variants` (and `hwr train` on a folder of pages) cut each line of
    the training pages by a narrower band, the reading band and a wider one; the held-back
    pages' lines by the reading band alone."""
    from hwr.data.pages import TRAIN_BANDS, iter_page_lines

    xml = typed_page(tmp_path)
    crops = [c for _, c in iter_page_lines(xml, "c", cut="band", bands=TRAIN_BANDS)]
    assert len(crops) == 3 * len(TRAIN_BANDS)
    one = [c for _, c in iter_page_lines(xml, "c", cut="band")]
    for i in range(3):
        cuts = crops[3 * i:3 * i + 3]
        assert np.array_equal(cuts[0], one[i])  # the first band is the reading band
        # spacing 100: each crop as high as its band
        for c, (up, down) in zip(cuts, TRAIN_BANDS):
            assert c.shape[0] == pytest.approx((up + down) * 100 + 5, abs=3)
    # a line cut by its polygon is cut once, whatever the bands
    assert len([c for _, c in iter_page_lines(xml, "c", cut="polygon", bands=TRAIN_BANDS)]) == 3

    root = tmp_path / "pages" / "kew"
    root.mkdir(parents=True)
    for i in range(3):
        typed_page(root, f"p{i}")
    out = tmp_path / "v.h5"
    res = CliRunner().invoke(cli, ["import", "pages", str(root.parent), "-o", str(out), "--holdout-every", "3",
                                   "--band-variants"])
    assert res.exit_code == 0, res.output
    assert "line images (3 cuts of each line)" in res.output
    tr, va = LineSet(out), LineSet(tmp_path / "v-val.h5")
    assert len(tr) == 2 * 3 * 3 and len(va) == 3  # two training pages of three lines, cut three ways
    assert sorted(set(tr.ids)) == sorted(i for i in tr.ids[::3]) and {i.split("/")[1] for i in va.ids} == {"p2"}
    # a model card counts the lines, and the images they were cut into
    from hwr.training.card import _data_rows
    from hwr.training.image import _describe

    d, dv = _describe(tr), _describe(va)
    assert (d["lines"], d["images"]) == (6, 18) and dv["lines"] == 3 and "images" not in dv
    assert "| 6 (18 images) |" in _data_rows([d])[0] and "| 3 |" in _data_rows([dv])[0]
    res = CliRunner().invoke(cli, ["import", "pages", str(root.parent), "-o", str(tmp_path / "x.h5"),
                                   "--band-variants", "--cut", "polygon"])
    assert res.exit_code != 0 and "--cut band" in res.output
    res = CliRunner().invoke(cli, ["import", "pages", str(root.parent), "-o", str(tmp_path / "x.h5"), "--cut", "box"])
    assert res.exit_code == 2 and "box" in res.output
