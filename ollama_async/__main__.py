"""``python -m ollama_async``: the ``ollama-async`` command line (see ``cli``)."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
