"""Synthetic, seeded incident streams with ground truth, for testing detectors and demonstrating the system.

A scenario yields native input records (what a format adapter would read from a platform export, with raw
author handles) plus a ground truth that says which posts form the mobilisation call, the rumours and the
harmless look-alikes, so a detector can be scored against it.
"""
