"""What imdb and reuters share: Keras's re-indexing of word sequences (start, OOV, skip_top)."""
import logging

from jkeras.utils.sequence_utils import remove_long_sequences


def renamed_num_words(num_words, kwargs):
    """Keras 1's `nb_words` spelling of `num_words`; any other unknown keyword is an error."""
    if "nb_words" in kwargs:
        logging.getLogger("jkeras").warning(
            "The `nb_words` argument in `load_data` has been renamed `num_words`.")
        num_words = kwargs.pop("nb_words")
    if kwargs:
        raise TypeError(f"Unrecognized keyword arguments: {kwargs}.")
    return num_words


def reindex(xs, start_char, index_from):
    """Each sequence with `index_from` added to its words and `start_char` in front."""
    if start_char is not None:
        return [[start_char] + [w + index_from for w in x] for x in xs]
    if index_from:
        return [[w + index_from for w in x] for x in xs]
    return [list(x) for x in xs]


def drop_long(maxlen, xs, labels):
    return remove_long_sequences(maxlen, xs, labels) if maxlen else (xs, labels)


def limit_words(xs, num_words, skip_top, oov_char):
    """Words outside `[skip_top, num_words)` become `oov_char`, or are dropped when it is None."""
    if not num_words:
        num_words = max(max(x) for x in xs if x)
    if oov_char is not None:
        return [[w if skip_top <= w < num_words else oov_char for w in x] for x in xs]
    return [[w for w in x if skip_top <= w < num_words] for x in xs]
