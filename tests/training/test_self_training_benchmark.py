"""benchmarks/self_training.py: the set-aside lines are labelled with the teacher's reading,
never with their ground truth."""

import itertools

from conftest import load_benchmark, typed_page


def test_labels_are_the_teachers_reading_of_the_three_cuts_as_one(tmp_path, monkeypatch):
    from hwr.data.lineset import LineSample, LineSet, write_lineset
    from hwr.evaluation import image_line_posteriors, views_by_id
    from hwr.pipeline import Recognizer

    fh = load_benchmark("finetune_hooker")
    st = load_benchmark("self_training")
    monkeypatch.setattr(fh, "CACHE", tmp_path / "cache")
    pages = [typed_page(tmp_path, f"p{i}", above=40, below=12) for i in range(2)]
    cuts = fh.import_pages(pages, [], "-band2", 1, "band", names=("cuts", "none"), variants=True)[0]
    src = LineSet(cuts)
    # a ground truth no reading can match: a label taken from it would show
    secret = tmp_path / "secret.h5"
    write_lineset(secret, (LineSample(s.image, "qqqq", s.writer, s.source, s.collection, s.id)
                           for s in (src[i] for i in range(len(src)))), src.preprocessing)
    rec = Recognizer("image_default", kind="image")
    ids = [k for k, _ in itertools.groupby(src.ids)]
    read = {i: rec.decoder.decode_views(v) for i, (_, _, v) in zip(ids, views_by_id(image_line_posteriors(rec, secret),
                                                                                     secret), strict=True)}
    assert len(read) == 6 and any(r.text.strip() for r in read.values())

    got = st.pseudo_labels("image_default", secret, tmp_path / "all.h5")
    out = LineSet(tmp_path / "all.h5")
    kept = {i for i, r in read.items() if r.text.strip()}
    assert got["kept"] == len(kept) and got["lines"] == 6 and got["label_cer"] > 0.5
    assert out.ids == [i for i in src.ids if i in kept]  # all three cuts of each kept line, in order
    assert all(t == read[i].text != "qqqq" for i, t in zip(out.ids, out.texts))
    first = src.ids.index(out.ids[0])
    assert (out.image(0) == src.image(first)).all() and out.preprocessing == src.preprocessing

    # only the lines read with at least the given confidence
    confs = sorted(r.confidence for i, r in read.items() if i in kept)
    mid = confs[len(confs) // 2]
    got = st.pseudo_labels("image_default", secret, tmp_path / "sure.h5", min_confidence=mid)
    sure = {i for i in kept if read[i].confidence >= mid}
    assert got["kept"] == len(sure) and set(LineSet(tmp_path / "sure.h5").ids) == sure
    assert st.pseudo_labels("image_default", secret, tmp_path / "none.h5", min_confidence=1.01)["kept"] == 0
