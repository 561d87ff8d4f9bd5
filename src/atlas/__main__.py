"""``python -m atlas`` is the ``atlas`` command."""

from atlas.cli.app import main

main()
