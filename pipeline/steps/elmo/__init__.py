"""The ELMo step: a frozen language model's layers, mixed by a few learned scalars, under a small task model."""
