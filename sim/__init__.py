"""JAX simulator of verifier-driven self-DPO with progress-gated replay (paper/model.md)."""
