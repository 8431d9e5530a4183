"""Training and evaluation of recognisers."""
