"""Callbacks for generative training."""
