"""Modalities of the phantom: each renders any region that provides the tissues it needs."""
