"""Data sets for the chapter's experiments: MNIST (IDX files), the embedded Reber grammar, a time series."""
