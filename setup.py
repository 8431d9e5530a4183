"""Only the package list lives here; everything else is in pyproject.toml.

``[tool.setuptools.packages.find]`` cannot install the folder ``gui/`` under
another name, so the packages are listed here: every ``hwr*`` package that
find_packages sees, plus ``hwr_gui`` (mapped to ``gui/`` by
``[tool.setuptools.package-dir]`` in pyproject.toml), plus the two data folders without
``__init__.py`` (``hwr.formats.schemas``, ``hwr_gui.icons``): listed as packages so that
setuptools installs their package-data without its "data directory as package" warning.
"""

from setuptools import find_packages, setup

setup(packages=find_packages(include=["hwr", "hwr.*"]) + ["hwr.formats.schemas", "hwr_gui", "hwr_gui.icons"])
