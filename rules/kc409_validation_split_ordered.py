from collections.abc import Iterator

from kerascheck.ir import Finding, Known, ModelSpec
from kerascheck.rule import Invalid, Rule, RuleContext, Valid


class ValidationSplitOrdered(Rule):
    """Flags `fit(validation_split=...)` on labels the data flow shows are ordered by class,
    with nothing shuffling them in between.

    Ordered means built as per-class blocks (`np.concatenate([np.zeros(n), np.ones(m)])`,
    `[0] * n + [1] * m`, `np.full(n, k)` blocks), sorted (`np.sort(y)`, rows indexed with
    `np.argsort(y)`), or loaded sorted (scikit-learn's `load_iris`, `load_wine`; measured).
    Range slices, `astype`, `to_categorical` and label encoders keep the order; a
    permutation or mask, `train_test_split` (it shuffles by default), `np.random.shuffle`,
    `sklearn.utils.shuffle` or any function the analysis cannot see drops it.
    """

    code = "KC409"
    name = "validation-split-ordered"
    experiment = "ordered-split"
    severity = "error"
    # A helper that reorders arrays in place must be kept: left out, it would leave an order
    # that no longer holds. (Helpers that make labels only cost recall when left out.)
    relevant_names = frozenset({"shuffle", "permutation"})
    summary = "validation_split on labels ordered by class: the validation set is the last class."
    why = """
        `fit(validation_split=0.2)` holds out the LAST 20 % of the arrays, taken before any
        shuffling (`shuffle=True` only shuffles the training part; Keras documents this and
        it is measured). When the rows are grouped by class, the validation set holds only
        the last class or classes and the model never trains on them: validation accuracy is
        meaningless (often 0 % or 100 %), and early stopping and checkpoints follow it.
    """
    example = """
        x = np.concatenate([cats, dogs])
        y = np.concatenate([np.zeros(len(cats)), np.ones(len(dogs))])
        model.fit(x, y, validation_split=0.2)      # validation: dogs only
    """
    use_instead = """
        x = np.concatenate([cats, dogs])
        y = np.concatenate([np.zeros(len(cats)), np.ones(len(dogs))])
        order = np.random.permutation(len(x))
        x, y = x[order], y[order]
        model.fit(x, y, validation_split=0.2)
        # or: x_train, x_val, y_train, y_val = train_test_split(x, y, stratify=y)
    """
    fix_safety = """
        No automatic fix: the arrays must be shuffled together, which is a new statement in
        the data preparation, and how (a permutation, `train_test_split(stratify=y)`) is the
        author's choice.
    """
    limitations = """
        Labels gathered in loops (`labels.append(class_index)` over class folders), built in
        functions the analysis cannot see, or read from files (a CSV sorted by class) carry no
        order it knows of, so the rule is silent there. Pandas data frames are not followed.
    """
    invalid = (
        Invalid(
            """
            import numpy as np
            import keras
            x = np.concatenate([cats, dogs])
            y = np.concatenate([np.zeros(len(cats)), np.ones(len(dogs))])
            model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(1, activation="sigmoid")])
            model.compile(optimizer="adam", loss="binary_crossentropy")
            model.fit(x, y, epochs=10, validation_split=0.2)
            """,
            line=7,
            col=28,
        ),
        Invalid(
            """
            import numpy as np
            from tensorflow import keras
            from sklearn.datasets import load_iris
            X, y = load_iris(return_X_y=True)
            y = keras.utils.to_categorical(y, 3)
            model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
            model.compile(optimizer="adam", loss="categorical_crossentropy")
            model.fit(X, y, validation_split=0.25, shuffle=True)
            """,
            line=8,
        ),
        Invalid(
            """
            import numpy as np
            import keras
            labels = np.array([0] * 500 + [1] * 500 + [2] * 500)
            model = keras.Sequential([keras.Input((10,)), keras.layers.Dense(3, activation="softmax")])
            model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
            model.fit(features, labels, validation_split=0.1)
            """,
            line=6,
        ),
        Invalid(
            """
            import numpy as np
            import keras
            y = np.random.randint(0, 2, size=1000)
            order = np.argsort(y)
            x, y = x_all[order], y[order]
            model = keras.Sequential([keras.Input((10,)), keras.layers.Dense(1, activation="sigmoid")])
            model.fit(x, y, validation_split=0.2)
            """,
            line=7,
        ),
        Invalid(
            """
            import numpy as np
            from sklearn import datasets
            import keras
            iris = datasets.load_iris()
            x, y = iris.data, iris.target
            model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
            model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
            model.fit(x[:120], y[:120], validation_split=0.2)
            """,
            line=8,
        ),
    )
    valid = (
        Valid(
            """
            # Shuffled together before the split.
            import numpy as np
            import keras
            x = np.concatenate([cats, dogs])
            y = np.concatenate([np.zeros(len(cats)), np.ones(len(dogs))])
            p = np.random.permutation(len(x))
            x, y = x[p], y[p]
            model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(1, activation="sigmoid")])
            model.fit(x, y, validation_split=0.2)
            """
        ),
        Valid(
            """
            # train_test_split shuffles by default.
            from sklearn.datasets import load_iris
            from sklearn.model_selection import train_test_split
            import keras
            X, y = load_iris(return_X_y=True)
            X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2)
            model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
            model.fit(X_train, y_train, validation_split=0.2)
            """
        ),
        Valid(
            """
            # Shuffled in place.
            import numpy as np
            import keras
            y = np.concatenate([np.zeros(100), np.ones(100)])
            np.random.shuffle(y)
            model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(1, activation="sigmoid")])
            model.fit(x, y, validation_split=0.2)
            """
        ),
        Valid(
            """
            # A separate validation set: nothing is split off the ordered arrays.
            import numpy as np
            import keras
            x = np.concatenate([cats, dogs])
            y = np.concatenate([np.zeros(len(cats)), np.ones(len(dogs))])
            model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(1, activation="sigmoid")])
            model.fit(x, y, validation_data=(x_val, y_val))
            """
        ),
        Valid(
            """
            # One class only (a GAN's real labels): no order to speak of.
            import numpy as np
            import keras
            y = np.ones((256, 1))
            model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(1, activation="sigmoid")])
            model.fit(x, y, validation_split=0.2)
            """
        ),
        Valid(
            """
            # Shuffled by a helper the analysis cannot see.
            import numpy as np
            import keras
            from utils import shuffle_in_unison
            x = np.concatenate([cats, dogs])
            y = np.concatenate([np.zeros(len(cats)), np.ones(len(dogs))])
            shuffle_in_unison(x, y)
            model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(1, activation="sigmoid")])
            model.fit(x, y, validation_split=0.2)
            """
        ),
    )

    def check_model(self, model: ModelSpec, ctx: RuleContext) -> Iterator[Finding]:
        for fit in model.fits:
            split = fit.call.kwarg("validation_split")
            if split is None or fit.y.label_order != Known("by_label"):
                continue
            value = split.value
            if not (isinstance(value, Known) and isinstance(value.value, (int, float))):
                continue
            if value.value <= 0:
                continue
            yield self.finding(
                split.keyword_span or split.span,
                f"validation_split={value.value} takes the last {value.value:.0%} of the rows "
                "before any shuffling, and these labels are ordered by class: the validation "
                "set holds only the last class(es), which the model never trains on; shuffle x "
                "and y together first (p = np.random.permutation(len(y)); x, y = x[p], y[p]) "
                "or split with train_test_split(..., stratify=y)",
            )
