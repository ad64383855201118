"""`python -m notify`: the same command line as `notify`."""

from notify.cli import main

main()
