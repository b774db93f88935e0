"""`python -m archive`: the `archive` command, for when its script is not on PATH."""

from archive.cli import main

if __name__ == "__main__":
    main()
