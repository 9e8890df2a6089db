"""icl_analysis: load icl-study result files, fit convergence rates, draw figures, write reports."""
from .load import (SchemaError, load, load_models, seal, tidy, to_dataframe,  # noqa: F401
                   to_xarray, verify_seal)
