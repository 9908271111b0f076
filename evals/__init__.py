"""Evaluation: metrics, datasets, gold-answer resolution, trajectory scoring, runner,
reports and benchmarks. Imports every other layer."""
