"""Only the package list lives here; everything else is in pyproject.toml.

``[tool.setuptools.packages.find]`` cannot install the folder ``gui/`` under
another name, so the packages are listed here: every ``hwr*`` package that
find_packages sees, plus ``hwr_gui`` (mapped to ``gui/`` by
``[tool.setuptools.package-dir]`` in pyproject.toml).
"""

from setuptools import find_packages, setup

setup(packages=find_packages(include=["hwr", "hwr.*"]) + ["hwr_gui"])
