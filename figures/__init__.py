"""Scripts that turn results files into the paper's figures (PNG + PDF).

Each module has ``main(results_dir, out_dir) -> list[Path]`` and runs as
``python -m figures.<name> [RESULTS_DIR [OUT_DIR]]``; none runs the simulator.
"""

FIGURES = (
    "phase_diagram",
    "pair_accuracy",
    "silent_regression",
    "confidence_inversion",
    "direction_mismatch",
    "variance_theorem",
    "compute_cap",
    "replication",
    "ladder",
)
