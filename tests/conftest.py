"""Test-suite settings: notebooks run in quick mode, quietly."""

import os

# Set before any kernel starts: nbval's kernels inherit this environment.
os.environ["COURSE_QUICK"] = "1"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
