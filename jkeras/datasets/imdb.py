"""IMDB movie reviews: 25,000 training and 25,000 test reviews as word indices, sentiment labels."""
import json

import numpy as np

from jkeras.datasets._files import ORIGIN, load_npz, locate, shuffled
from jkeras.datasets._text_sets import drop_long, limit_words, reindex, renamed_num_words

SHA256 = "69664113be75683a8fe16e3ed0ab59fda8886cb3cd7ada244f7d9544e4676b9f"
WORD_INDEX_MD5 = "bfafd718b763782e994055a2d397834f"


def load_data(path="imdb.npz", num_words=None, skip_top=0, maxlen=None, seed=113, start_char=1,
              oov_char=2, index_from=3, cache_dir=None, **kwargs):
    """`(x_train, y_train), (x_test, y_test)`: object arrays of word-index lists, 0/1 labels.

    Word `i` of the file (by frequency) becomes `i + index_from`; each review starts with
    `start_char`; words not in `[skip_top, num_words)` become `oov_char` (dropped if None);
    reviews of `maxlen` words or more are dropped. Shuffled with `seed`, as Keras does.
    """
    num_words = renamed_num_words(num_words, kwargs)
    f = load_npz(locate(path, ORIGIN + "imdb.npz", SHA256, cache_dir))
    rng = np.random.RandomState(seed)
    x_train, y_train = shuffled(rng, f["x_train"], f["y_train"])
    x_test, y_test = shuffled(rng, f["x_test"], f["y_test"])
    x_train, x_test = reindex(x_train, start_char, index_from), reindex(x_test, start_char, index_from)
    if maxlen:
        x_train, y_train = drop_long(maxlen, x_train, y_train)
        x_test, y_test = drop_long(maxlen, x_test, y_test)
        if not x_train or not x_test:
            raise ValueError(f"After filtering for sequences shorter than maxlen={maxlen}, no "
                             "sequence was kept. Increase maxlen.")
    xs = limit_words(x_train + x_test, num_words, skip_top, oov_char)
    labels = np.concatenate([y_train, y_test])
    cut = len(x_train)
    return ((_objects(xs[:cut]), labels[:cut]), (_objects(xs[cut:]), labels[cut:]))


def _objects(lists):
    out = np.empty(len(lists), dtype=object)
    out[:] = lists
    return out


def get_word_index(path="imdb_word_index.json"):
    """`{word: index}` of the IMDB vocabulary (index 1 is the most frequent word)."""
    with open(locate(path, ORIGIN + "imdb_word_index.json", WORD_INDEX_MD5)) as f:
        return json.load(f)
