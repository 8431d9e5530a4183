"""Datasets: HDF5 storage and importers."""
