"""The bundled desktop program, ``transactflowos``: what ``python -m app`` runs."""

import sys

from app.__main__ import main

sys.exit(main())
