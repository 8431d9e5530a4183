"""Online handwriting: ink files, normalisation and features."""

from hwr.ink.io import detect_kind, load_ink, read_iam_ondb, read_inkml, read_json, write_inkml, write_json

__all__ = ["detect_kind", "load_ink", "read_iam_ondb", "read_inkml", "read_json", "write_inkml", "write_json"]
