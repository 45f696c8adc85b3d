"""Step 3-4 of the road: pretraining on unlabelled text with each family's own objective (biLM, masked,
causal and permutation LM), the part that makes fine-tuning and ELMo features work."""
