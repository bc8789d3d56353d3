"""imagine-med: synthetic medical images for teaching. Visualizes, never diagnoses."""

__version__ = "0.1.0"
