"""``python -m shell`` runs the zkpy shell."""

from shell.main import main

main()
