"""nlp-road: components for the road from bag-of-words to distilled transformers (recipes live in recipes/).

Importing the package registers the models it defines (the recurrent, fastText and ELMo classifiers and
taggers, the biLM) with transformers' Auto classes, so `AutoModelForSequenceClassification.from_pretrained`
and `transformers.pipeline` load any run folder it saves, with no remote code.
"""

from .steps import fasttext, recurrent  # noqa: F401  (registration)
from .steps.elmo import model  # noqa: F401  (registration; also registers the biLM)
