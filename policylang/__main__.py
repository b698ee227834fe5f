"""`python -m policylang` runs the command line, like the `policylang` script."""

from policylang.cli import main

main()
