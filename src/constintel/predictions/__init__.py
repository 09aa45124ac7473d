"""Predictions: customer-base models (BG/NBD, MBG/NBD, Gamma-Gamma), RFM segments and lifecycle
labels, fitted per brand and scored on every profile change."""
