"""jkeras.wrappers.scikit_learn: the Keras 2 wrappers as scikit-learn estimators (clone, cross
validation, grid search), their label handling and scores checked against numpy."""
import numpy as np
import pytest

import jkeras
from jkeras.wrappers.scikit_learn import KerasClassifier, KerasRegressor


def make_classifier(hidden=4, activation="softmax", classes=3):
    model = jkeras.Sequential([jkeras.layers.Dense(hidden, activation="relu", input_shape=(4,)),
                               jkeras.layers.Dense(classes, activation=activation)])
    loss = "sparse_categorical_crossentropy" if classes > 1 else "binary_crossentropy"
    model.compile("adam", loss, metrics=["accuracy"])
    return model


def make_onehot_classifier(hidden=4):
    model = jkeras.Sequential([jkeras.layers.Dense(hidden, activation="relu", input_shape=(4,)),
                               jkeras.layers.Dense(3, activation="softmax")])
    model.compile("adam", "categorical_crossentropy", metrics=["accuracy"])
    return model


def make_regressor(hidden=4):
    model = jkeras.Sequential([jkeras.layers.Dense(hidden, activation="relu", input_shape=(4,)),
                               jkeras.layers.Dense(1)])
    model.compile("sgd", "mse")
    return model


def data(n=24, seed=0):
    rng = np.random.RandomState(seed)
    x = rng.normal(size=(n, 4)).astype("float32")
    labels = np.array(["ant", "bee", "cat"])[np.arange(n) % 3]
    return x, labels


def test_classifier_labels_probabilities_and_score():
    x, labels = data()
    clf = KerasClassifier(make_onehot_classifier, hidden=5, epochs=2, batch_size=8, verbose=0)
    clf.fit(x, labels)
    assert clf.classes_.tolist() == ["ant", "bee", "cat"] and clf.n_classes_ == 3
    proba = clf.predict_proba(x)
    np.testing.assert_allclose(proba, clf.model.predict(x, verbose=0), rtol=1e-6)
    predicted = clf.predict(x)
    assert predicted.tolist() == clf.classes_[proba.argmax(-1)].tolist()
    accuracy = np.mean(predicted == labels)
    assert clf.score(x, labels) == pytest.approx(accuracy, abs=1e-6)


def test_binary_classifier_probabilities_have_two_columns():
    x, _ = data()
    y = (x[:, 0] > 0).astype(int)
    clf = KerasClassifier(make_classifier, activation="sigmoid", classes=1, epochs=1, verbose=0)
    clf.fit(x, y)
    p = clf.model.predict(x, verbose=0)
    np.testing.assert_allclose(clf.predict_proba(x), np.hstack([1 - p, p]), rtol=1e-6)
    assert clf.predict(x).tolist() == (p[:, 0] > 0.5).astype(int).tolist()


def test_regressor_predict_and_score():
    x, _ = data()
    y = x @ np.array([1.0, -2.0, 0.5, 0.0], "float32")
    reg = KerasRegressor(make_regressor, epochs=2, verbose=0)
    reg.fit(x, y)
    predicted = reg.predict(x)
    assert predicted.shape == (24,)
    assert reg.score(x, y) == pytest.approx(-np.mean((predicted - y) ** 2), rel=1e-4)


def test_params_are_checked_and_settable():
    clf = KerasClassifier(make_classifier, hidden=3, epochs=1)
    assert clf.get_params() == {"build_fn": make_classifier, "hidden": 3, "epochs": 1}
    clf.set_params(hidden=6, batch_size=4)
    assert clf.get_params()["hidden"] == 6 and clf.sk_params["batch_size"] == 4
    with pytest.raises(ValueError, match="not a legal parameter"):
        KerasClassifier(make_classifier, hiden=3)
    with pytest.raises(ValueError, match="not a legal parameter"):
        clf.set_params(learning_rat=0.1)


@pytest.mark.slow
def test_cross_val_score_and_grid_search():
    sklearn = pytest.importorskip("sklearn")
    from sklearn.base import clone, is_classifier
    from sklearn.model_selection import GridSearchCV, KFold, cross_val_score
    x, labels = data(30)
    clf = KerasClassifier(make_classifier, hidden=4, epochs=1, batch_size=10, verbose=0)
    assert is_classifier(clf) and clone(clf).get_params() == clf.get_params()
    folds = KFold(3)
    scores = cross_val_score(clf, x, labels, cv=folds)
    assert scores.shape == (3,) and np.all((0 <= scores) & (scores <= 1))
    jkeras.utils.set_random_seed(1234)
    grid = GridSearchCV(KerasRegressor(make_regressor, epochs=1, verbose=0), {"hidden": [2, 5]}, cv=2)
    grid.fit(x, x[:, 0])
    assert grid.best_params_["hidden"] in (2, 5) and len(grid.cv_results_["mean_test_score"]) == 2
    assert grid.best_estimator_.predict(x).shape == (30,)
    assert sklearn.__version__
