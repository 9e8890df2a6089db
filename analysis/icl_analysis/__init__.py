"""icl_analysis: load icl-study result files, fit convergence rates, draw figures, write reports."""
from .load import SchemaError, load, load_models, seal, tidy, verify_seal  # noqa: F401
