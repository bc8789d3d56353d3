"""The diffusion engine: a local Stable Diffusion-family checkpoint, optionally held to the
phantom's anatomy.

Nothing here is imported by the registry until a diffusion renderer is asked for, so the base
install (no torch) never touches this package's heavy modules. `prompts` and `config` are
torch-free and safe to import anywhere.
"""
