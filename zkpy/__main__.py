"""`python -m zkpy` runs the `zkpy` console script."""

from zkpy.cli import main

main()
