"""``python -m hwr``: the same as the ``hwr`` command."""

from hwr.cli.main import main

if __name__ == "__main__":
    main()
