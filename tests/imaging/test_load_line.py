"""Image loading (depths, channels, palettes, corrupt and huge files) and line normalisation."""

import time

import cv2
import numpy as np
import pytest

from hwr.errors import InputError
from hwr.imaging.line import line_preprocessing, normalize_line
from hwr.imaging.load import decode_image, load_image


def _png(arr) -> bytes:
    ok, buf = cv2.imencode(".png", arr)
    assert ok
    return buf.tobytes()


def _text_line(width=900, height=110, value=40, bg=225):
    img = np.full((height, width), bg, np.uint8)
    cv2.putText(img, "minimum handwriting", (15, height - 35), cv2.FONT_HERSHEY_SCRIPT_SIMPLEX, 2.2, value, 3)
    return img


def test_gray_8_and_16_bit():
    img = _text_line()
    a = decode_image(_png(img))
    assert a.dtype == np.uint8 and a.shape == img.shape and np.array_equal(a, img)
    b = decode_image(_png(img.astype(np.uint16) * 257))
    assert b.dtype == np.uint8 and np.array_equal(b, img)


def test_alpha_composited_on_white():
    bgra = np.zeros((20, 30, 4), np.uint8)  # black, fully transparent on the left half
    bgra[:, 15:, 3] = 255
    g = decode_image(_png(bgra))
    assert g[:, :15].min() == 255 and g[:, 15:].max() == 0
    g16 = decode_image(_png(bgra.astype(np.uint16) * 257))
    assert np.array_equal(g, g16)


def test_palette_gif_and_bmp(tmp_path):
    img = _text_line(200, 40)
    for ext in (".bmp", ".tiff"):
        ok, buf = cv2.imencode(ext, cv2.cvtColor(img, cv2.COLOR_GRAY2BGR))
        assert ok
        assert np.abs(decode_image(buf.tobytes()).astype(int) - img).max() <= 1
    # a palette PNG (colour type 3) written by hand: 2x1 pixels, palette black/white
    import struct
    import zlib

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"\x00\x00\x01"  # filter 0, indices 0, 1 (8-bit)
    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 1, 8, 3, 0, 0, 0))
           + chunk(b"PLTE", b"\x00\x00\x00\xff\xff\xff") + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
    assert decode_image(png).tolist() == [[0, 255]]


def test_corrupt_empty_and_not_images(tmp_path):
    good = _png(_text_line())
    for data in (b"", b"hello", good[:40], b"\x89PNG\r\n\x1a\n" + b"\x00" * 100):
        with pytest.raises(InputError):
            decode_image(data, "x.png")
    with pytest.raises(InputError, match="cannot read"):
        load_image(tmp_path / "missing.png")


def test_huge_image_refused_from_header():
    import struct
    import zlib

    ihdr = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 0, 0, 0, 0)
    data = b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    t = time.perf_counter()
    with pytest.raises(InputError, match="too large"):
        decode_image(data)
    assert time.perf_counter() - t < 1.0


def test_jpeg_header_size_and_exif_free_decode():
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(_text_line(300, 50), cv2.COLOR_GRAY2BGR))
    from hwr.imaging.load import header_size

    assert header_size(buf.tobytes()) == (300, 50)
    assert decode_image(buf.tobytes()).shape == (50, 300)


def test_normalize_height_aspect_and_polarity():
    prep = line_preprocessing(height=48, margin=2)
    out = normalize_line(_text_line(), prep)
    assert out.dtype == np.float32 and out.shape[0] == 48
    assert out.min() == 0.0 and out.max() > 0.9  # ink bright on a black background
    assert out[:2].max() == 0 and out[-2:].max() == 0  # margins
    # scaling the input does not change the output's size much (aspect kept)
    big = cv2.resize(_text_line(), None, fx=2, fy=2, interpolation=cv2.INTER_LINEAR)
    out2 = normalize_line(big, prep)
    assert abs(out2.shape[1] - out.shape[1]) <= 0.05 * out.shape[1]


def test_normalize_flattens_illumination():
    img = _text_line().astype(np.float32)
    gradient = np.linspace(0.45, 1.0, img.shape[1])[None, :]
    dark = (img * gradient).astype(np.uint8)
    a = normalize_line(_text_line())
    b = normalize_line(dark)
    assert abs(a.shape[1] - b.shape[1]) <= 0.05 * a.shape[1]
    assert abs(float(a.mean()) - float(b.mean())) < 0.05


def test_slant_is_corrected():
    img = np.full((100, 400), 230, np.uint8)
    for x in range(40, 360, 40):  # slanted bars
        cv2.line(img, (x, 80), (x + 30, 20), 20, 5)
    prep = line_preprocessing(slant=True)
    straight = normalize_line(img, prep)
    skewed = normalize_line(img, {**prep, "slant": False})
    # corrected bars are vertical: sharper column profile
    assert (straight.sum(0) ** 2).sum() / straight.sum() > 1.3 * (skewed.sum(0) ** 2).sum() / skewed.sum()


@pytest.mark.parametrize("img", [
    np.zeros((40, 100), np.uint8),
    np.full((40, 100), 255, np.uint8),
    np.full((1, 1), 0, np.uint8),
    np.full((40, 1), 128, np.uint8),
])
def test_blank_images_are_clear_errors(img):
    with pytest.raises(InputError, match="blank|no ink"):
        normalize_line(img)


def test_one_pixel_wide_line_is_padded():
    img = np.full((60, 1), 230, np.uint8)
    img[10:50] = 0
    out = normalize_line(img)
    assert out.shape == (48, 16) and out.max() > 0.5


def test_empty_array_is_clear_error():
    with pytest.raises(InputError):
        normalize_line(np.zeros((0, 10), np.uint8))


def test_100000_px_wide_line_no_hang():
    img = np.full((60, 100_000), 230, np.uint8)
    img[20:40, ::50] = 0
    t = time.perf_counter()
    with pytest.raises(InputError, match="too long"):
        normalize_line(img)
    assert time.perf_counter() - t < 5


def test_16_bit_array_input():
    out8 = normalize_line(_text_line())
    out16 = normalize_line(_text_line().astype(np.uint16) * 257)
    assert np.array_equal(out8, out16)


def test_jpeg_exif_orientation_applied():
    import struct

    img = np.full((20, 40), 255, np.uint8)
    img[:, :20] = 0  # left half black
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 95])
    tiff = b"MM\x00\x2a\x00\x00\x00\x08" + struct.pack(">H", 1) + struct.pack(">HHIHH", 0x0112, 3, 1, 6, 0) + b"\x00" * 4
    payload = b"Exif\x00\x00" + tiff
    data = buf.tobytes()
    jpeg = data[:2] + b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload + data[2:]
    g = decode_image(jpeg)
    assert g.shape == (40, 20)  # orientation 6: rotated 90 degrees clockwise
    assert g[:20].mean() < 60 and g[20:].mean() > 200  # the black half is now on top
