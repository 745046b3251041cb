"""Closed forms and derivations of THEORY.md's claims L0, T1-T6 (sympy, lambdified to numpy/JAX)."""
