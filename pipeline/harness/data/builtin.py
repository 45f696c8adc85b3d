"""The built-in data set: synthetic movie-review sentences whose label is decided by one named phenomenon.

Every sentence is built from a small grammar (documented in the README) so that evaluation can
say *why* a model is right or wrong: a bag of words cannot tell "the plot was dull, but the
acting was superb" from "the acting was superb, but the plot was dull", a contextual model can.
The test split only uses (aspect, adjective) pairings that never occur in train or validation.
The same grammar also yields two other tasks: `build_graded` scores each sentence in [-1, 1] from
fixed word strengths (regression), `build_aspects` tags it with the aspect groups it praises or
criticises (multi-label, sometimes none), and `build_tagged` tags its words (token classification):
each film aspect an ASPECT span, each opinion word about the film POS or NEG as it means in its clause
("not dull" praises; "unpredictable" praises a plot and criticises editing), and words about other
things (the popcorn) nothing.
"""

from __future__ import annotations

import random

from datasets import ClassLabel, Dataset, DatasetDict, Features, List, Value

LABEL_NAMES = ["negative", "positive"]
PHENOMENA = ["plain", "negation", "intensity", "contrast", "context", "distractor"]
# Share of each phenomenon in every split: plain polarity is common, the hard cases are not rare.
MIX = {"plain": 0.25, "negation": 0.17, "intensity": 0.12, "contrast": 0.18, "context": 0.12, "distractor": 0.16}
SIZES = {"train": 6000, "validation": 1000, "test": 2000}

# (noun, is_plural). Story aspects are about what the film tells, craft aspects about how it is made.
STORY = [("plot", 0), ("story", 0), ("script", 0), ("dialogue", 0), ("ending", 0), ("characters", 1),
         ("premise", 0), ("twists", 1), ("screenplay", 0), ("humor", 0), ("themes", 1), ("storyline", 0),
         ("climax", 0), ("backstory", 0), ("subplot", 0), ("jokes", 1)]
CRAFT = [("acting", 0), ("cast", 0), ("performances", 1), ("direction", 0), ("soundtrack", 0), ("score", 0),
         ("cinematography", 0), ("editing", 0), ("pacing", 0), ("visuals", 1), ("special effects", 1),
         ("camera work", 0), ("sound mix", 0), ("lighting", 0), ("costumes", 1), ("set design", 0),
         ("stunts", 1), ("choreography", 0)]
ASPECTS = STORY + CRAFT
STORY_NOUNS = {noun for noun, _ in STORY}

POSITIVE = ["good", "great", "superb", "brilliant", "wonderful", "excellent", "moving", "gripping", "clever",
            "charming", "delightful", "stunning", "beautiful", "memorable", "fresh", "witty", "compelling",
            "touching", "thrilling", "engaging", "masterful", "solid", "inventive", "heartfelt", "impressive",
            "elegant", "vivid", "sharp", "powerful", "funny", "tight", "absorbing", "lovely", "remarkable",
            "gorgeous", "riveting", "poignant", "dazzling", "graceful", "confident", "original", "rich",
            "satisfying", "haunting", "warm", "lively", "polished", "smart", "sublime", "terrific", "glorious",
            "exhilarating", "nuanced", "assured", "enchanting", "magnificent", "uplifting", "spirited"]
NEGATIVE = ["bad", "awful", "terrible", "dull", "boring", "weak", "clumsy", "tedious", "lifeless", "bland",
            "forgettable", "stale", "flat", "messy", "lazy", "shallow", "sloppy", "tiresome", "dreadful", "poor",
            "hollow", "cliched", "pointless", "awkward", "annoying", "uninspired", "mediocre", "painful",
            "confusing", "wooden", "overlong", "dreary", "joyless", "grating", "incoherent", "limp", "drab",
            "sluggish", "contrived", "stilted", "clunky", "muddled", "listless", "laughable", "tepid", "vapid",
            "insipid", "plodding", "leaden", "shoddy", "amateurish", "pedestrian", "dismal", "disjointed",
            "ponderous", "trite", "lame", "pretentious"]
# Adjectives whose polarity depends on the aspect: (polarity for story aspects, polarity for craft aspects).
CONTEXT = {"unpredictable": (1, 0), "dark": (1, 0), "quiet": (1, 0), "challenging": (1, 0), "raw": (1, 0),
           "flashy": (0, 1), "simple": (0, 1), "slick": (0, 1), "loud": (0, 1), "invisible": (0, 1)}
STRONG = ["absolutely", "utterly", "extremely", "incredibly", "truly", "remarkably", "thoroughly",
          "exceptionally", "wildly", "staggeringly"]
WEAK = ["slightly", "somewhat", "a little", "mildly", "a bit", "faintly", "marginally", "vaguely"]
NEGATORS = ["the {a} {be} not {j}", "the {a} {be} never {j}", "i would not call the {a} {j}",
            "the {a} {be} far from {j}", "nobody could call the {a} {j}", "the {a} {be} hardly {j}"]
# Subjects that are not about the film: their adjectives must be ignored.
OFF_TOPIC = [("popcorn", 0), ("parking", 0), ("seats", 1), ("weather", 0), ("ticket prices", 1), ("snacks", 1),
             ("drive home", 0), ("air conditioning", 0), ("queue", 0), ("trailers before it", 1),
             ("theater carpet", 0), ("usher", 0), ("nachos", 1), ("restroom", 0), ("crowd", 0),
             ("booking website", 0), ("coffee afterwards", 0), ("bus ride", 0)]
FILMS = ["film", "movie", "picture", "thriller", "comedy", "drama", "sequel", "remake", "western", "musical",
         "romance", "biopic", "documentary", "animation", "mystery", "debut", "feature", "adaptation", "satire",
         "melodrama", "epic", "caper", "noir", "farce", "fable", "odyssey"]
OPENERS = ["", "", "", "honestly , ", "overall , ", "frankly , ", "to be fair , ", "in the end , ",
           "i have to say , ", "for what it is worth , ",
           "in short , ", "all things considered , ", "believe me , ", "sadly or not , "]
# Graded strength of an adjective: 0.4 for these mild words, 0.8 for these extreme ones, 0.6 for all others.
MILD = {"good", "solid", "fresh", "engaging", "funny", "tight", "warm", "lively", "polished", "smart", "confident",
        "original", "rich", "satisfying", "charming", "clever", "lovely", "sharp", "weak", "flat", "bland", "stale",
        "messy", "awkward", "tepid", "limp", "pedestrian", "overlong", "forgettable", "drab", "sluggish", "lame",
        "trite", "mediocre", "poor", "uninspired"}
EXTREME = {"superb", "brilliant", "wonderful", "excellent", "stunning", "masterful", "remarkable", "gorgeous",
           "riveting", "dazzling", "sublime", "terrific", "glorious", "exhilarating", "magnificent", "enchanting",
           "awful", "terrible", "dreadful", "painful", "laughable", "shoddy", "amateurish", "incoherent", "dismal",
           "pointless", "vapid", "joyless", "lifeless"}
# The multi-label task: each aspect group can be praised, criticised, both or neither in one review.
GROUPS = {"story": ["plot", "story", "screenplay", "ending", "characters", "premise", "twists", "themes",
                    "storyline", "climax", "backstory", "subplot"],
          "dialogue": ["script", "dialogue", "humor", "jokes"],
          "acting": ["acting", "cast", "performances", "choreography", "stunts"],
          "sound": ["soundtrack", "score", "sound mix"],
          "visuals": ["cinematography", "visuals", "special effects", "camera work", "lighting", "costumes",
                      "set design"],
          "pacing": ["pacing", "editing", "direction"]}
GROUP_OF = {noun: group for group, nouns in GROUPS.items() for noun in nouns}
ASPECT_LABELS = [f"{group}:{verdict}" for group in GROUPS for verdict in ("praised", "criticised")]
ASPECT_MIX = {"one_aspect": 0.25, "two_aspects": 0.2, "three_aspects": 0.1, "negation": 0.17, "contrast": 0.13,
              "distractor": 0.1, "none": 0.05}
ASPECT_PHENOMENA = list(ASPECT_MIX)
# How 2 or 3 clauses join; contrast has its own forms, {1} being the clause that the conjunction plays down.
JOINS = {1: ["{0}"], 2: ["{0} and {1}", "{0} ; {1}", "{0} , and {1}"],
         3: ["{0} , {1} and {2}", "{0} ; {1} ; {2}", "{0} ; {1} and {2}"]}
CONTRASTS = ["{1} , but {0}", "although {1} , {0}", "{1} , yet {0}", "even though {1} , {0}"]
TAILS = ["", "", "", " in the second half", " for most of the running time", " at times", " by the end",
         " from start to finish", " throughout",
         " in every scene", " despite the hype", " after the first act", " on a second viewing"]


class _Sampler:
    """What the three grammars share: one seeded rng and the (aspect, adjective) pairings held out for test."""

    mix: dict[str, float]  # phenomenon -> share of every split
    features: Features  # sentence, target, phenomenon

    def __init__(self, rng: random.Random, held_out: set[tuple[str, str]]):
        self.rng, self.held_out = rng, held_out

    def row(self, phenomenon: str, label: int, novel: bool) -> tuple[str, object] | None:
        """A sentence of `phenomenon` led by `label` and its target, or None when the draw failed."""
        return getattr(self, phenomenon)(label, novel)

    def aspect(self, adjective: str, novel: bool, pool=ASPECTS):
        """An aspect whose pairing with `adjective` is held out (novel) or seen in training (not novel)."""
        options = [a for a in pool if ((a[0], adjective) in self.held_out) == novel]
        return self.rng.choice(options) if options else None

    def context_pairing(self, label: int, novel: bool):
        """A context adjective and an aspect of the kind that makes it mean `label` (None where none is left)."""
        adjective = self.rng.choice(list(CONTEXT))
        story_polarity, _ = CONTEXT[adjective]
        return adjective, self.aspect(adjective, novel, STORY if story_polarity == label else CRAFT)

    def _subject(self, aspect) -> str:
        noun = aspect[0]
        return noun if self.rng.random() < 0.7 else f"{noun} of this {self.rng.choice(FILMS)}"


class _Grammar(_Sampler):
    """Samples sentences of one phenomenon with a requested label, avoiding or requiring held-out pairs."""

    mix = MIX
    features = Features({"sentence": Value("string"), "label": ClassLabel(names=LABEL_NAMES),
                         "phenomenon": Value("string")})

    def row(self, phenomenon: str, label: int, novel: bool) -> tuple[str, int] | None:
        text = getattr(self, phenomenon)(label, novel)
        return None if text is None else (text, label)

    def clause(self, label: int, novel: bool, template: str = "the {a} {be} {j}") -> str | None:
        adjective = self.rng.choice(POSITIVE if label else NEGATIVE)
        aspect = self.aspect(adjective, novel)
        if aspect is None:
            return None
        return template.format(a=self._subject(aspect), be=_be(aspect), j=adjective)

    def plain(self, label: int, novel: bool) -> str | None:
        template = self.rng.choice(["the {a} {be} {j}", "i found the {a} {j}", "the {a} {be} really {j}",
                                    "it is a {f} whose {a} {be} {j}"])
        return self.clause(label, novel, template.replace("{f}", self.rng.choice(FILMS)))

    def negation(self, label: int, novel: bool) -> str | None:
        return self.clause(1 - label, novel, self.rng.choice(NEGATORS))

    def intensity(self, label: int, novel: bool) -> str | None:
        strong = self.clause(label, novel, "the {a} {be} " + self.rng.choice(STRONG) + " {j}")
        weak = self.clause(1 - label, False, "the {a} {be} " + self.rng.choice(WEAK) + " {j}")
        if strong is None or weak is None:
            return None
        first, second = (strong, weak) if self.rng.random() < 0.5 else (weak, strong)
        return f"{first} and {second}"

    def contrast(self, label: int, novel: bool) -> str | None:
        deciding = self.clause(label, novel)
        other = self.clause(1 - label, False)
        if deciding is None or other is None:
            return None
        form = self.rng.choice(["{x} , but {y}", "although {x} , {y}", "{x} , yet {y}", "even though {x} , {y}"])
        return form.format(x=other, y=deciding)

    def context(self, label: int, novel: bool) -> str | None:
        adjective, aspect = self.context_pairing(label, novel)
        if aspect is None:
            return None
        template = self.rng.choice(["the {a} {be} {j}", "i found the {a} {j}", "the {a} {be} very {j}"])
        return template.format(a=self._subject(aspect), be=_be(aspect), j=adjective)

    def distractor(self, label: int, novel: bool) -> str | None:
        about_film = self.clause(label, novel)
        if about_film is None:
            return None
        off = self.rng.choice(OFF_TOPIC)
        noise = f"the {off[0]} {_be(off)} {self.rng.choice(POSITIVE + NEGATIVE)}"
        if self.rng.random() < 0.5:
            return f"{noise} , and {about_film}"
        return f"{about_film} ; {noise}"


class _GradedGrammar(_Sampler):
    """Sentences of the same phenomena whose label is a score in [-1, 1] that their words decide exactly."""

    mix = MIX
    features = Features({"sentence": Value("string"), "label": Value("float32"), "phenomenon": Value("string")})

    def row(self, phenomenon: str, label: int, novel: bool) -> tuple[str, float] | None:
        made = getattr(self, phenomenon)(label, novel)
        return None if made is None else (made[0], round(made[1], 3))

    def clause(self, label: int, novel: bool, template: str = "the {a} {be} {j}",
               modifier: str = "") -> tuple[str, float] | None:
        adjective = self.rng.choice(POSITIVE if label else NEGATIVE)
        aspect = self.aspect(adjective, novel)
        if aspect is None:
            return None
        text = template.format(a=self._subject(aspect), be=_be(aspect), j=f"{modifier} {adjective}".strip())
        return text, _grade(adjective, label, modifier)

    def modifier(self) -> str:
        """No modifier half of the time, else an intensifier or a downtoner."""
        return "" if self.rng.random() < 0.5 else self.rng.choice(STRONG + WEAK)

    def plain(self, label: int, novel: bool) -> tuple[str, float] | None:
        template = self.rng.choice(["the {a} {be} {j}", "i found the {a} {j}", "it is a {f} whose {a} {be} {j}"])
        return self.clause(label, novel, template.replace("{f}", self.rng.choice(FILMS)))

    def negation(self, label: int, novel: bool) -> tuple[str, float] | None:
        """'not bad' is mildly positive: negation flips the score and halves it."""
        made = self.clause(1 - label, novel, self.rng.choice(NEGATORS))
        return None if made is None else (made[0], -0.5 * made[1])

    def intensity(self, label: int, novel: bool) -> tuple[str, float] | None:
        template = self.rng.choice(["the {a} {be} {j}", "i found the {a} {j}"])
        return self.clause(label, novel, template, self.rng.choice(STRONG + WEAK))

    def contrast(self, label: int, novel: bool) -> tuple[str, float] | None:
        """The clause that the conjunction keeps weighs three times the one it plays down."""
        deciding = self.clause(label, novel, modifier=self.modifier())
        other = self.clause(1 - label, False, modifier=self.modifier())
        if deciding is None or other is None:
            return None
        return self.rng.choice(CONTRASTS).format(deciding[0], other[0]), 0.75 * deciding[1] + 0.25 * other[1]

    def context(self, label: int, novel: bool) -> tuple[str, float] | None:
        adjective, aspect = self.context_pairing(label, novel)
        if aspect is None:
            return None
        template = self.rng.choice(["the {a} {be} {j}", "i found the {a} {j}"])
        return template.format(a=self._subject(aspect), be=_be(aspect), j=adjective), _grade(adjective, label)

    def distractor(self, label: int, novel: bool) -> tuple[str, float] | None:
        """An off-topic clause, even an emphatic one, adds nothing to the score."""
        about_film = self.clause(label, novel)
        if about_film is None:
            return None
        off = self.rng.choice(OFF_TOPIC)
        noise = f"the {off[0]} {_be(off)} " + f"{self.modifier()} {self.rng.choice(POSITIVE + NEGATIVE)}".strip()
        if self.rng.random() < 0.5:
            return f"{noise} , and {about_film[0]}", about_film[1]
        return f"{about_film[0]} ; {noise}", about_film[1]


def _grade(adjective: str, label: int, modifier: str = "") -> float:
    """The fixed strength of an adjective, raised by an intensifier (x1.25, at most 1) or halved by a downtoner."""
    strength = 0.4 if adjective in MILD else 0.8 if adjective in EXTREME else 0.6
    if modifier in STRONG:
        strength = min(1.0, 1.25 * strength)
    elif modifier in WEAK:
        strength *= 0.5
    return strength if label else -strength


class _AspectGrammar(_Sampler):
    """Reviews of 1-3 clauses labelled with every aspect group they praise or criticise; off-topic clauses add none."""

    mix = ASPECT_MIX
    features = Features({"sentence": Value("string"), "labels": List(Value("string")), "phenomenon": Value("string")})

    def clause(self, praised: bool, novel: bool, taken: set[str], negated: bool = False) -> tuple[str, str] | None:
        """A clause about an aspect not in `taken` (then added to it) and its label; 'not good' criticises."""
        adjective = self.rng.choice(POSITIVE if praised != negated else NEGATIVE)
        aspect = self.aspect(adjective, novel, [a for a in ASPECTS if a[0] not in taken])
        if aspect is None:
            return None
        taken.add(aspect[0])
        templates = NEGATORS if negated else ["the {a} {be} {j}", "i found the {a} {j}", "the {a} {be} really {j}"]
        text = self.rng.choice(templates).format(a=self._subject(aspect), be=_be(aspect), j=adjective)
        return text, f"{GROUP_OF[aspect[0]]}:{'praised' if praised else 'criticised'}"

    def noise(self) -> tuple[str, str]:
        off = self.rng.choice(OFF_TOPIC)
        return f"the {off[0]} {_be(off)} {self.rng.choice(POSITIVE + NEGATIVE)}", ""

    def coin(self) -> bool:
        return self.rng.random() < 0.5

    def sentence(self, form: str, clauses: list) -> tuple[str, list[str]] | None:
        """The clauses put into `form` and the sorted union of their labels."""
        if None in clauses:
            return None
        return form.format(*(text for text, _ in clauses)), sorted({label for _, label in clauses if label})

    def joined(self, clauses: list) -> tuple[str, list[str]] | None:
        """The clauses in random order, joined by commas, semicolons or 'and'."""
        self.rng.shuffle(clauses)
        return self.sentence(self.rng.choice(JOINS[len(clauses)]), clauses)

    def one_aspect(self, label: int, novel: bool) -> tuple[str, list[str]] | None:
        return self.sentence("{0}", [self.clause(bool(label), novel, set())])

    def two_aspects(self, label: int, novel: bool) -> tuple[str, list[str]] | None:
        taken: set[str] = set()
        return self.joined([self.clause(bool(label), novel, taken), self.clause(self.coin(), False, taken)])

    def three_aspects(self, label: int, novel: bool) -> tuple[str, list[str]] | None:
        taken: set[str] = set()
        return self.joined([self.clause(bool(label), novel, taken)]
                           + [self.clause(self.coin(), False, taken) for _ in range(2)])

    def negation(self, label: int, novel: bool) -> tuple[str, list[str]] | None:
        taken: set[str] = set()
        clauses = [self.clause(bool(label), novel, taken, negated=True)]
        if self.coin():
            clauses.append(self.clause(self.coin(), False, taken))
        return self.joined(clauses)

    def contrast(self, label: int, novel: bool) -> tuple[str, list[str]] | None:
        """Both sides of 'but' count: the one played down is still praised or criticised."""
        taken: set[str] = set()
        return self.sentence(self.rng.choice(CONTRASTS),
                             [self.clause(bool(label), novel, taken), self.clause(not label, False, taken)])

    def distractor(self, label: int, novel: bool) -> tuple[str, list[str]] | None:
        taken: set[str] = set()
        clauses = [self.clause(bool(label), novel, taken)]
        if self.coin():
            clauses.append(self.clause(self.coin(), False, taken))
        return self.joined(clauses + [self.noise()])

    def none(self, label: int, novel: bool) -> tuple[str, list[str]] | None:
        """Only off-topic clauses: a review row with no aspect label at all."""
        return self.joined([self.noise() for _ in range(1 + self.coin())])


class _TaggedGrammar(_Grammar):
    """The sentences of the default set with their words tagged: its clauses mark the aspect noun and the
    opinion word as 'word|B-TYPE' (read back by _tagged_rows); every other word is 'O'."""

    def clause(self, label: int, novel: bool, template: str = "the {a} {be} {j}", meaning: int | None = None):
        adjective = self.rng.choice(POSITIVE if label else NEGATIVE)
        aspect = self.aspect(adjective, novel)
        if aspect is None:
            return None
        return self.marked(template, aspect, adjective, label if meaning is None else meaning)

    def marked(self, template: str, aspect, adjective: str, polarity: int) -> str:
        subject = self._subject(aspect)
        return template.format(a=_mark(aspect[0], "ASPECT") + subject[len(aspect[0]):], be=_be(aspect),
                               j=_mark(adjective, "POS" if polarity else "NEG"))

    def negation(self, label: int, novel: bool) -> str | None:
        """'not dull' praises: the opinion word is tagged with what the clause means."""
        return self.clause(1 - label, novel, self.rng.choice(NEGATORS), meaning=label)

    def context(self, label: int, novel: bool) -> str | None:
        adjective, aspect = self.context_pairing(label, novel)
        if aspect is None:
            return None
        template = self.rng.choice(["the {a} {be} {j}", "i found the {a} {j}", "the {a} {be} very {j}"])
        return self.marked(template, aspect, adjective, label)


def _mark(words: str, kind: str) -> str:
    return " ".join(f"{word}|{'BI'[i > 0]}-{kind}" for i, word in enumerate(words.split()))


def _tagged_rows(marked: list[str]) -> tuple[list[list[str]], list[list[str]]]:
    """Marked sentences -> their words and IOB2 tags."""
    pieces = [[word.split("|") for word in sentence.split()] for sentence in marked]
    return [[p[0] for p in sentence] for sentence in pieces], [[p[1] if len(p) > 1 else "O" for p in sentence]
                                                               for sentence in pieces]


def _be(aspect) -> str:
    return "were" if aspect[1] else "was"


def _held_out_pairs(rng: random.Random) -> set[tuple[str, str]]:
    """One (aspect, adjective) pairing in four is reserved for the test split."""
    adjectives = POSITIVE + NEGATIVE + list(CONTEXT)
    return {(noun, adjective) for adjective in adjectives for noun, _ in ASPECTS if rng.random() < 0.25}


def _split(grammar: _Sampler, size: int, novel: bool, seen: set[str]) -> dict[str, list]:
    rows: dict[str, list] = {column: [] for column in grammar.features}  # sentence, target, phenomenon
    last = list(grammar.mix)[-1]
    for phenomenon, share in grammar.mix.items():
        count = round(size * share) if phenomenon != last else size - len(rows["sentence"])
        for i in range(count):
            while True:
                made = grammar.row(phenomenon, i % 2, novel)
                if made is None:
                    continue
                text = grammar.rng.choice(OPENERS) + made[0] + grammar.rng.choice(TAILS) + " ."
                if text not in seen:
                    break
            seen.add(text)
            for column, value in zip(rows, (text, made[1], phenomenon)):
                rows[column].append(value)
    order = list(range(size))
    grammar.rng.shuffle(order)
    return {column: [values[i] for i in order] for column, values in rows.items()}


def build_builtin(seed: int = 0) -> DatasetDict:
    """The default data set, generated deterministically from `seed` (no files, no network)."""
    return _generate(seed, _Grammar)[0]


def build_graded(seed: int = 0) -> DatasetDict:
    """The regression task: the same kind of sentences, labelled with a sentiment score in [-1, 1]."""
    return _generate(seed, _GradedGrammar)[0]


def build_aspects(seed: int = 0) -> DatasetDict:
    """The multi-label task: `labels` is the sorted set of ASPECT_LABELS a review earns, empty in about 5% of rows."""
    return _generate(seed, _AspectGrammar)[0]


def build_tagged(seed: int = 0) -> DatasetDict:
    """The token-classification task: the default set's sentences as `tokens` with IOB2 `ner_tags` (ASPECT, POS,
    NEG), the test split's (aspect, adjective) pairings unseen in training as in the default set."""
    tagged = DatasetDict()
    for split, rows in _generate(seed, _TaggedGrammar)[0].items():
        tokens, tags = _tagged_rows(rows["sentence"])
        tagged[split] = Dataset.from_dict({"tokens": tokens, "ner_tags": tags, "phenomenon": rows["phenomenon"]})
    return tagged


def unlabeled_sentences(seed: int, count: int) -> list[str]:
    """`count` more sentences of the same grammar and mix, without labels: a transfer set for distillation.

    They continue the generator of `build_builtin(seed)`, so none repeats a train, validation or test
    sentence, and like train they use only pairings that are not held out for the test split.
    """
    return _unlabeled(seed, count, _Grammar)


def unlabeled_graded(seed: int, count: int) -> list[str]:
    """Like `unlabeled_sentences`, continuing `build_graded(seed)`."""
    return _unlabeled(seed, count, _GradedGrammar)


def unlabeled_aspects(seed: int, count: int) -> list[str]:
    """Like `unlabeled_sentences`, continuing `build_aspects(seed)`."""
    return _unlabeled(seed, count, _AspectGrammar)


def unlabeled_tagged(seed: int, count: int) -> list[str]:
    """Like `unlabeled_sentences`, continuing `build_tagged(seed)`: plain sentences, their words spaced."""
    return [" ".join(words) for words in _tagged_rows(_unlabeled(seed, count, _TaggedGrammar))[0]]


def _unlabeled(seed: int, count: int, kind: type[_Sampler]) -> list[str]:
    if not count:
        return []
    _, grammar, seen = _generate(seed, kind)
    return _split(grammar, count, novel=False, seen=seen)["sentence"]


def _generate(seed: int, kind: type[_Sampler]) -> tuple[DatasetDict, _Sampler, set[str]]:
    rng = random.Random(seed)
    grammar = kind(rng, _held_out_pairs(rng))
    seen: set[str] = set()
    splits = DatasetDict({
        split: Dataset.from_dict(_split(grammar, size, novel=(split == "test"), seen=seen), features=grammar.features)
        for split, size in SIZES.items()
    })
    return splits, grammar, seen


def vocabulary() -> set[str]:
    """Every word the grammar can produce."""
    parts = (POSITIVE + NEGATIVE + list(CONTEXT) + STRONG + WEAK + NEGATORS + FILMS + OPENERS + TAILS
             + [a for a, _ in ASPECTS + OFF_TOPIC]
             + ["the was were i found really it is a whose very but although yet even though and of this ; , ."])
    return {word for part in parts for word in part.replace("{a}", "").replace("{be}", "").replace("{j}", "").split()}
