"""Reuters newswires: 11,228 newswires as word indices, labelled with 46 topics."""
import json

import numpy as np

from jkeras.datasets._files import ORIGIN, load_npz, locate, shuffled
from jkeras.datasets._text_sets import drop_long, limit_words, reindex, renamed_num_words
from jkeras.datasets.imdb import _objects

SHA256 = "d6586e694ee56d7a4e65172e12b3e987c03096cb01eab99753921ef915959916"
WORD_INDEX_MD5 = "4d44cc38712099c9e383dc6e5f11a921"
LABEL_NAMES = ("cocoa", "grain", "veg-oil", "earn", "acq", "wheat", "copper", "housing",
               "money-supply", "coffee", "sugar", "trade", "reserves", "ship", "cotton", "carcass",
               "crude", "nat-gas", "cpi", "money-fx", "interest", "gnp", "meal-feed", "alum",
               "oilseed", "gold", "tin", "strategic-metal", "livestock", "retail", "ipi",
               "iron-steel", "rubber", "heat", "jobs", "lei", "bop", "zinc", "orange", "pet-chem",
               "dlr", "gas", "silver", "wpi", "hog", "lead")


def load_data(path="reuters.npz", num_words=None, skip_top=0, maxlen=None, test_split=0.2, seed=113,
              start_char=1, oov_char=2, index_from=3, cache_dir=None, **kwargs):
    """`(x_train, y_train), (x_test, y_test)`: object arrays of word-index lists, topic labels 0..45,
    re-indexed and filtered as `imdb.load_data`, split at `1 - test_split` after shuffling."""
    num_words = renamed_num_words(num_words, kwargs)
    f = load_npz(locate(path, ORIGIN + "reuters.npz", SHA256, cache_dir))
    xs, labels = shuffled(np.random.RandomState(seed), f["x"], f["y"])
    xs = reindex(xs, start_char, index_from)
    xs, labels = drop_long(maxlen, xs, labels)
    xs = limit_words(xs, num_words, skip_top, oov_char)
    cut = int(len(xs) * (1 - test_split))
    return ((_objects(xs[:cut]), np.array(labels[:cut])), (_objects(xs[cut:]), np.array(labels[cut:])))


def get_word_index(path="reuters_word_index.json"):
    """`{word: index}` of the Reuters vocabulary."""
    with open(locate(path, ORIGIN + "reuters_word_index.json", WORD_INDEX_MD5)) as f:
        return json.load(f)


def get_label_names():
    """The 46 topic names, by label index."""
    return LABEL_NAMES
