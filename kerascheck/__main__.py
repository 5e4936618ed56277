import os
import sys

# `python -m kerascheck` puts the working directory first on sys.path: a project's own
# libcst.py or rich.py would be imported (its code run) in place of ours. Nothing of ours
# lives there, so take it off before importing anything.
if sys.path and sys.path[0] in ("", os.getcwd()):
    del sys.path[0]

from kerascheck.cli import main

sys.exit(main())
