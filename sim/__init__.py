"""JAX simulator of verifier-driven self-DPO with progress-gated replay (THEORY.md, paper/model.md)."""
