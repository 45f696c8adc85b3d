"""The steps of the road, each in one place, standing on the harness: n-grams, Word2Vec, recurrent
classifiers, pretraining, ELMo, distillation, export, and the parameter counts."""
