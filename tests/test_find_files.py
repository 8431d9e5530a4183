"""Data folders may link their collections in: the finders follow links to folders, once."""

import os

import pytest

from hwr.paths import find_files


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="no symbolic links")
def test_linked_folders_are_searched_and_cycles_end(tmp_path):
    from hwr.data.linefolder import find_line_pairs
    from hwr.data.pages import find_pages

    real = tmp_path / "elsewhere" / "kew"
    (real / "sub").mkdir(parents=True)
    (real / "p1.xml").write_text("<x/>", encoding="utf-8")
    (real / "sub" / "l1.png").write_bytes(b"png")
    (real / "sub" / "l1.gt.txt").write_text("a line", encoding="utf-8")
    data = tmp_path / "data"
    data.mkdir()
    (data / "kew").symlink_to(real, target_is_directory=True)
    (real / "sub" / "loop").symlink_to(real, target_is_directory=True)  # a cycle back up
    (data / "kew-again").symlink_to(real, target_is_directory=True)  # the same folder twice

    xmls = find_files(data, "*.xml")
    assert xmls == [data / "kew" / "p1.xml"]  # under the path given; the second link is the same folder
    assert find_pages(data) == {"kew": [data / "kew" / "p1.xml"]}
    assert [gt.name for _, gt in find_line_pairs(data)] == ["l1.gt.txt"]
    assert sorted(p.name for p in find_files(data)) == ["l1.gt.txt", "l1.png", "p1.xml"]
    assert find_files(tmp_path / "missing") == []
