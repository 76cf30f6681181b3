#!/usr/bin/env python3
"""circuits-benchmark command line: `./main.py --help`.

Run by any Python, it hands itself to the project's own interpreter (`.venv/bin/python`, made by
`scripts/setup.sh`) when that one is not already running it, so `./main.py ...` works right after
set-up without activating the environment.
"""

import os
import sys
from pathlib import Path

PROJECT_PYTHON = Path(__file__).resolve().parent / ".venv" / "bin" / "python"

if __name__ == "__main__":
    running_project_python = Path(sys.prefix).resolve() == PROJECT_PYTHON.parent.parent.resolve()
    if PROJECT_PYTHON.exists() and not running_project_python:
        os.execv(PROJECT_PYTHON, [str(PROJECT_PYTHON), __file__, *sys.argv[1:]])
    from circuits_benchmark.cli.app import main

    main()
