"""Images: loading (EXIF, 16-bit, alpha, palette, size limits) and line normalisation."""
