"""The ``hwr`` command line: thin wrappers over the library."""
