"""Speed proofs, run by `make bench` and skipped by ordinary test runs (--benchmark-skip).

Rules: every figure is CPU time of the measuring thread; a target is asserted on numbers
measured in the same run, never on wall-clock limits.
"""
