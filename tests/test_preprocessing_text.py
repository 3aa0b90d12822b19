"""jkeras.preprocessing.text against tf.keras 2's outputs (tests/fixtures/tf_keras_preprocessing/text.json)."""
import json
import os

import numpy as np
import pytest

from jkeras.preprocessing import text

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures", "tf_keras_preprocessing")
TEXTS = ["The cat sat on the mat.", "The dog ate my homework!", "Cats and dogs, cats and DOGS.",
         "A mat; a hat: a cat?"]


@pytest.fixture(scope="module")
def expected():
    with open(os.path.join(FIXTURES, "text.json")) as f:
        return json.load(f)


def fitted():
    tok = text.Tokenizer(num_words=8, oov_token="<oov>")
    tok.fit_on_texts(TEXTS)
    return tok


def test_tokenizer_index_sequences_and_texts_match_tf_keras(expected):
    tok = fitted()
    assert tok.word_index == expected["word_index"]
    sequences = tok.texts_to_sequences(TEXTS + ["an unseen cat"])
    assert sequences == expected["sequences"]
    assert tok.sequences_to_texts(sequences) == expected["texts"]


@pytest.mark.parametrize("mode", ["binary", "count", "tfidf", "freq"])
def test_tokenizer_matrix_modes_match_tf_keras(mode, expected):
    np.testing.assert_allclose(fitted().texts_to_matrix(TEXTS, mode=mode), expected[f"matrix_{mode}"],
                               rtol=1e-12)


def test_to_json_matches_tf_keras_and_round_trips(expected):
    def parsed(config):  # the inner dicts are JSON text; their key order follows Python's set order
        return {k: json.loads(v) if k in ("word_counts", "word_docs", "index_docs", "index_word",
                                          "word_index") else v for k, v in config["config"].items()}

    tok = fitted()
    written = json.loads(tok.to_json())
    assert written["class_name"] == "Tokenizer" and parsed(written) == parsed(expected["to_json"])
    again = text.tokenizer_from_json(json.dumps(expected["to_json"]))  # a file tf.keras wrote
    assert again.word_index == tok.word_index and again.index_word == tok.index_word
    assert again.texts_to_sequences(TEXTS) == tok.texts_to_sequences(TEXTS)
    np.testing.assert_array_equal(again.texts_to_matrix(TEXTS, "tfidf"), tok.texts_to_matrix(TEXTS, "tfidf"))


def test_word_helpers_match_tf_keras(expected):
    chars = text.Tokenizer(char_level=True)
    chars.fit_on_texts(TEXTS[:2])
    assert chars.word_index == expected["char_word_index"]
    assert text.text_to_word_sequence(TEXTS[2]) == expected["text_to_word_sequence"]
    assert text.hashing_trick(TEXTS[1], 20, hash_function="md5") == expected["hashing_trick_md5"]
    words = text.text_to_word_sequence(TEXTS[0])
    assert text.one_hot(TEXTS[0], 11) == [hash(w) % 10 + 1 for w in words]


def test_sequences_fit_lists_and_errors():
    tok = text.Tokenizer()
    tok.fit_on_texts([["Hello", "world"], ["hello"]])  # lists are taken as words (lower-cased)
    assert tok.word_index == {"hello": 1, "world": 2}
    tok.fit_on_sequences([[1, 2], [1]])
    assert tok.document_count == 4 and tok.index_docs[1] == 4
    with pytest.raises(ValueError, match="vectorization mode"):
        tok.sequences_to_matrix([[1]], mode="onehot")
    with pytest.raises(ValueError, match="num_words"):
        text.Tokenizer().sequences_to_matrix([[1]])
    with pytest.raises(TypeError, match="Unrecognized"):
        text.Tokenizer(num_wrds=3)
    with pytest.warns(UserWarning, match="renamed"):
        assert text.Tokenizer(nb_words=5).num_words == 5
