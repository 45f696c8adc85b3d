"""The built-in data set: synthetic movie-review sentences whose label is decided by one named phenomenon.

Every sentence is built from a small grammar (documented in the README) so that evaluation can
say *why* a model is right or wrong: a bag of words cannot tell "the plot was dull, but the
acting was superb" from "the acting was superb, but the plot was dull", a contextual model can.
The test split only uses (aspect, adjective) pairings that never occur in train or validation.
"""

from __future__ import annotations

import random

from datasets import ClassLabel, Dataset, DatasetDict, Features, Value

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
TAILS = ["", "", "", " in the second half", " for most of the running time", " at times", " by the end",
         " from start to finish", " throughout",
         " in every scene", " despite the hype", " after the first act", " on a second viewing"]


class _Grammar:
    """Samples sentences of one phenomenon with a requested label, avoiding or requiring held-out pairs."""

    def __init__(self, rng: random.Random, held_out: set[tuple[str, str]]):
        self.rng, self.held_out = rng, held_out

    def aspect(self, adjective: str, novel: bool, pool=ASPECTS):
        """An aspect whose pairing with `adjective` is held out (novel) or seen in training (not novel)."""
        options = [a for a in pool if ((a[0], adjective) in self.held_out) == novel]
        return self.rng.choice(options) if options else None

    def clause(self, label: int, novel: bool, template: str = "the {a} {be} {j}") -> str | None:
        adjective = self.rng.choice(POSITIVE if label else NEGATIVE)
        aspect = self.aspect(adjective, novel)
        if aspect is None:
            return None
        return template.format(a=self._subject(aspect), be=_be(aspect), j=adjective)

    def _subject(self, aspect) -> str:
        noun = aspect[0]
        return noun if self.rng.random() < 0.7 else f"{noun} of this {self.rng.choice(FILMS)}"

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
        adjective = self.rng.choice(list(CONTEXT))
        story_polarity, craft_polarity = CONTEXT[adjective]
        pool = STORY if story_polarity == label else CRAFT
        aspect = self.aspect(adjective, novel, pool)
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


def _be(aspect) -> str:
    return "were" if aspect[1] else "was"


def _held_out_pairs(rng: random.Random) -> set[tuple[str, str]]:
    """One (aspect, adjective) pairing in four is reserved for the test split."""
    adjectives = POSITIVE + NEGATIVE + list(CONTEXT)
    return {(noun, adjective) for adjective in adjectives for noun, _ in ASPECTS if rng.random() < 0.25}


def _split(grammar: _Grammar, size: int, novel: bool, seen: set[str]) -> dict[str, list]:
    rows = {"sentence": [], "label": [], "phenomenon": []}
    for phenomenon in PHENOMENA:
        count = round(size * MIX[phenomenon]) if phenomenon != PHENOMENA[-1] else size - len(rows["label"])
        make = getattr(grammar, phenomenon)
        for i in range(count):
            label = i % 2
            while True:
                text = make(label, novel)
                if text is None:
                    continue
                text = grammar.rng.choice(OPENERS) + text + grammar.rng.choice(TAILS) + " ."
                if text not in seen:
                    break
            seen.add(text)
            rows["sentence"].append(text)
            rows["label"].append(label)
            rows["phenomenon"].append(phenomenon)
    order = list(range(size))
    grammar.rng.shuffle(order)
    return {column: [values[i] for i in order] for column, values in rows.items()}


def build_builtin(seed: int = 0) -> DatasetDict:
    """The default data set, generated deterministically from `seed` (no files, no network)."""
    return _generate(seed)[0]


def unlabeled_sentences(seed: int, count: int) -> list[str]:
    """`count` more sentences of the same grammar and mix, without labels: a transfer set for distillation.

    They continue the generator of `build_builtin(seed)`, so none repeats a train, validation or test
    sentence, and like train they use only pairings that are not held out for the test split.
    """
    _, grammar, seen = _generate(seed)
    return _split(grammar, count, novel=False, seen=seen)["sentence"] if count else []


def _generate(seed: int) -> tuple[DatasetDict, _Grammar, set[str]]:
    rng = random.Random(seed)
    grammar = _Grammar(rng, _held_out_pairs(rng))
    features = Features({"sentence": Value("string"), "label": ClassLabel(names=LABEL_NAMES),
                         "phenomenon": Value("string")})
    seen: set[str] = set()
    splits = DatasetDict({
        split: Dataset.from_dict(_split(grammar, size, novel=(split == "test"), seen=seen), features=features)
        for split, size in SIZES.items()
    })
    return splits, grammar, seen


def vocabulary() -> set[str]:
    """Every word the grammar can produce."""
    parts = (POSITIVE + NEGATIVE + list(CONTEXT) + STRONG + WEAK + NEGATORS + FILMS + OPENERS + TAILS
             + [a for a, _ in ASPECTS + OFF_TOPIC]
             + ["the was were i found really it is a whose very but although yet even though and of this ; , ."])
    return {word for part in parts for word in part.replace("{a}", "").replace("{be}", "").replace("{j}", "").split()}
