"""`python -m p2pdist` runs the command line (tests and benchmarks start boxes this way)."""

from .cli import main

main()
