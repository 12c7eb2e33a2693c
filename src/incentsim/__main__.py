"""``python -m incentsim``: the same as the ``incentsim`` command."""

from incentsim.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
