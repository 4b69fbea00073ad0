"""The bundled command line, ``tfos``."""

import sys

from app.cli import main

sys.exit(main())
