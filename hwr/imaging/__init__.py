"""Images: loading (EXIF, 16-bit, alpha, palette, size limits) and line normalisation."""

# File name suffixes of the formats hwr.imaging.load reads (the content decides; these name
# them for folder listings, file dialogs and messages).  No import here: this package's
# __init__ stays free of OpenCV.
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".jpe", ".tif", ".tiff", ".bmp", ".dib", ".gif", ".webp"})
