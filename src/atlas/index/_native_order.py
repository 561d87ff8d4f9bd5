"""Load onnxruntime's native library before usearch's, when both are installed.

usearch 2.26's extension exports C++ standard-library symbols; onnxruntime 1.32, loaded after it, binds to
them and crashes the process at import (segfault in ``std::codecvt``). Loaded the other way round both work,
so whoever imports usearch imports this module first. Costs ~0.2 s where onnxruntime is installed, and
Atlas uses onnxruntime for query embeddings anyway.
"""

from __future__ import annotations

import importlib.util

if importlib.util.find_spec("onnxruntime") is not None:
    import onnxruntime  # noqa: F401
