"""PLSA as a scikit-learn estimator: conventions, text pipelines, bad input, save/load."""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.pipeline import make_pipeline
from sklearn.utils.estimator_checks import parametrize_with_checks

import emkit
from emkit._exceptions import InvalidParameterError, ModelFileError, NotFittedError
from emkit.topics import PLSA, make_topic_corpus

FRUIT = "apple pear plum cherry banana mango grape peach lemon melon".split()
VEHICLE = "car truck bus train tram bicycle scooter lorry van taxi".split()


def two_subject_documents(n=40, seed=0):
    """Documents about fruit or about vehicles, never both."""
    rng = np.random.default_rng(seed)
    documents = []
    for i in range(n):
        words = FRUIT if i % 2 == 0 else VEHICLE
        documents.append(" ".join(rng.choice(words, size=12)) + " and the of")
    return documents


@parametrize_with_checks([PLSA(n_components=3, max_iter=50, random_state=0)])
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def test_params_clone_and_feature_names_out():
    model = PLSA(4, tempering=0.8, random_state=3, max_iter=7)
    params = model.get_params()
    assert params["n_components"] == 4 and params["tempering"] == 0.8
    assert params["max_iter"] == 7 and params["random_state"] == 3
    copy = clone(model)
    assert copy.get_params() == params and not hasattr(copy, "components_")
    X, _, _ = make_topic_corpus(50, 20, 2, 20, random_state=0)
    model.set_params(max_iter=100).fit(X)
    assert model.get_feature_names_out().tolist() == ["plsa0", "plsa1", "plsa2", "plsa3"]
    assert model.components_.shape == (4, 20) and model.n_features_in_ == 20
    np.testing.assert_allclose(model.components_.sum(axis=1), 1.0)
    assert model.topic_weights_.sum() == pytest.approx(1.0)


def test_count_vectorizer_pipeline_separates_the_subjects():
    documents = two_subject_documents()
    vectorizer = CountVectorizer(stop_words="english")
    model = PLSA(2, random_state=0)
    pipeline = make_pipeline(vectorizer, model)
    doc_topic = pipeline.fit_transform(documents)
    assert doc_topic.shape == (len(documents), 2)
    np.testing.assert_allclose(doc_topic.sum(axis=1), 1.0)
    topics = model.top_words(vectorizer.get_feature_names_out(), n=5)
    assert [len(words) for words in topics] == [5, 5]
    assert all(set(words) <= set(FRUIT) or set(words) <= set(VEHICLE) for words in topics)
    assert {set(words) <= set(FRUIT) for words in topics} == {True, False}, topics
    # each document is (almost) all in the topic of its subject
    fruit_topic = 0 if set(topics[0]) <= set(FRUIT) else 1
    assert np.all(doc_topic[0::2, fruit_topic] > 0.95)
    assert np.all(doc_topic[1::2, fruit_topic] < 0.05)
    new = pipeline.transform(["banana mango cherry", "tram bus lorry", "nothing known here"])
    assert new[0, fruit_topic] > 0.95 and new[1, fruit_topic] < 0.05
    np.testing.assert_allclose(new[2], [0.5, 0.5])  # no known word: uniform


def test_tfidf_weights_are_accepted():
    X = TfidfVectorizer().fit_transform(two_subject_documents())
    model = PLSA(2, random_state=0).fit(X)
    assert np.all(np.isfinite(model.components_)) and np.isfinite(model.score(X))


def test_top_words_defaults_and_errors():
    X, _, _ = make_topic_corpus(30, 6, 2, 20, random_state=1)
    model = PLSA(2, random_state=0).fit(X)
    words = model.top_words(n=3)
    assert all(len(w) == 3 and set(w) <= {f"x{j}" for j in range(6)} for w in words)
    order = np.argsort(-model.components_[0])[:3]
    assert words[0] == [f"x{j}" for j in order]
    assert len(model.top_words(list("abcdef"), n=100)[0]) == 6
    with pytest.raises(ValueError, match="one name per word"):
        model.top_words(["a", "b"])
    with pytest.raises(ValueError, match="positive int"):
        model.top_words(n=0)
    with pytest.raises(NotFittedError):
        PLSA().top_words(list("abcdef"))


@pytest.mark.parametrize("X, message", [
    (np.array([[1.0, -1.0], [2.0, 0.0]]), "Negative values"),
    (sp.csr_matrix(np.array([[1.0, -1.0], [2.0, 0.0]])), "Negative values"),
    (np.array([[1.0, np.nan], [2.0, 0.0]]), "NaN"),
    (np.array([[1.0, np.inf], [2.0, 0.0]]), "infinity"),
    (np.zeros((0, 3)), "0 sample"),
    ([np.array([[1.0, 2.0]]), np.array([[-1.0, 2.0]])], "Negative values"),
])
def test_bad_input_is_refused_clearly(X, message):
    with pytest.raises(ValueError, match=message):
        PLSA(2).fit(X)


@pytest.mark.parametrize("params, name", [
    ({"n_components": 0}, "n_components"), ({"tempering": 0.0}, "tempering"),
    ({"tempering": 1.5}, "tempering"), ({"max_iter": -1}, "max_iter"),
    ({"tol": -1.0}, "tol"), ({"n_init": 0}, "n_init"),
    ({"mean_change_tol": "x"}, "mean_change_tol"),
])
def test_bad_parameters_are_named(params, name):
    X = np.ones((3, 4))
    with pytest.raises(InvalidParameterError, match=name):
        PLSA(**params).fit(X)


def test_use_before_fit_and_wrong_vocabulary():
    X = np.ones((3, 4))
    for method in ("transform", "score", "perplexity"):
        with pytest.raises(NotFittedError):
            getattr(PLSA(), method)(X)
    model = PLSA(2, random_state=0).fit(X)
    with pytest.raises(ValueError, match="4 features"):
        model.transform(np.ones((2, 5)))
    with pytest.raises(ValueError, match="expecting 4 features"):
        model.transform([np.ones((2, 5))])


def test_save_and_load_round_trip(tmp_path):
    X, _, _ = make_topic_corpus(60, 25, 3, 20, random_state=2)
    model = PLSA(3, tempering=0.9, random_state=0).fit(X)
    model.save(tmp_path / "plsa")
    loaded = emkit.load(tmp_path / "plsa")
    assert type(loaded) is PLSA and loaded.get_params() == model.get_params()
    np.testing.assert_array_equal(loaded.components_, model.components_)
    np.testing.assert_array_equal(loaded.transform(X), model.transform(X))
    assert loaded.perplexity(X) == model.perplexity(X)
    assert loaded.lower_bounds_ == model.lower_bounds_


def test_inconsistent_model_file_is_refused(tmp_path):
    X, _, _ = make_topic_corpus(30, 10, 2, 20, random_state=3)
    model = PLSA(2, random_state=0).fit(X)
    model.components_ = model.components_ * 2.0  # rows no longer distributions
    model.save(tmp_path / "bad")
    with pytest.raises(ModelFileError, match="probability distributions"):
        emkit.load(tmp_path / "bad")
