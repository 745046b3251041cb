"""The real self-DPO loop on Qwen-VL students, and the verifier audit.

Importing this package must not import torch: ``empirical.audit`` is numpy-only.
"""
