"""Scripts that turn results files into the paper's figures (PNG + PDF)."""
