"""``python -m simulacra``: the same as the ``simulacra`` command."""

from __future__ import annotations

from simulacra.cli.main import main

if __name__ == "__main__":
    main()
