"""Validation of synthetic data against real train and holdout data."""
