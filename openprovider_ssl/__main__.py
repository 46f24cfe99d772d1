"""``python -m openprovider_ssl``: the ``openprovider-ssl`` command line.

It needs the ``cli`` extra (click and rich); without it, ``openprovider_ssl.cli`` prints how to
install it and exits with code 2.
"""

from __future__ import annotations

from openprovider_ssl.cli import main

if __name__ == "__main__":
    main()
