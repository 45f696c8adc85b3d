"""nlp-road: components for the road from bag-of-words to distilled transformers (recipes live in recipes/)."""
