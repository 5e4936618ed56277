"""The extractor: every import spelling and model style of the foundation, end to end."""

from __future__ import annotations

import textwrap

import libcst as cst
import pytest
from conftest import codes_at

from kerascheck.extract.python import extract
from kerascheck.ir import UNKNOWN, Known, ModuleSpec


def spec(code: str) -> ModuleSpec:
    return extract(cst.parse_module(textwrap.dedent(code).lstrip("\n")), "t.py")


# Each spelling builds the same bug on line 3: Dense(1, softmax) -> KC101 at `"softmax"`.
SPELLINGS = {
    "import keras": (
        'import keras\nm = keras.Sequential()\nm.add(keras.layers.Dense(1, activation="softmax"))\n'
    ),
    "from tensorflow import keras": (
        "from tensorflow import keras\nm = keras.Sequential()\n"
        'm.add(keras.layers.Dense(1, activation="softmax"))\n'
    ),
    "import tensorflow as tf": (
        "import tensorflow as tf\nm = tf.keras.Sequential()\n"
        'm.add(tf.keras.layers.Dense(1, activation="softmax"))\n'
    ),
    "from tensorflow.keras import layers": (
        "from tensorflow.keras import layers, models\nm = models.Sequential()\n"
        'm.add(layers.Dense(1, activation="softmax"))\n'
    ),
    "from tensorflow.keras.layers import Dense": (
        "from tensorflow.keras.layers import Dense\nfrom tensorflow.keras import Sequential\n"
        'm = Sequential([Dense(1, activation="softmax")])\n'
    ),
    "import tf_keras": (
        "import tf_keras\nm = tf_keras.Sequential()\n"
        'm.add(tf_keras.layers.Dense(1, activation="softmax"))\n'
    ),
    "alias of a class": (
        "from keras.layers import Dense as D\nfrom keras.models import Sequential as S\n"
        'm = S([D(1, activation="softmax")])\n'
    ),
    "alias of a module": (
        "import keras.layers as L\nimport keras\n"
        'm = keras.Sequential([L.Dense(1, activation="softmax")])\n'
    ),
    "alias of tensorflow.keras": (
        "import tensorflow.keras as K2\nm = K2.models.Sequential()\n"
        'm.add(K2.layers.Dense(1, activation="softmax"))\n'
    ),
    "legacy keras.layers.core": (
        "from keras.layers.core import Dense\nfrom keras.models import Sequential\n"
        'm = Sequential([Dense(1, activation="softmax")])\n'
    ),
    "star imports": (
        "from keras.layers import *\nfrom keras.models import *\n"
        'm = Sequential([Dense(1, activation="softmax")])\n'
    ),
    "keras.src paths": (
        "from keras.src.layers.core.dense import Dense\nfrom keras.src.models import Sequential\n"
        'm = Sequential([Dense(1, activation="softmax")])\n'
    ),
}


@pytest.mark.parametrize("code", SPELLINGS.values(), ids=SPELLINGS.keys())
def test_every_import_spelling_resolves(code: str) -> None:
    line = code.splitlines()[2]
    assert codes_at(code, select=("KC101",)) == [("KC101", 3, line.index('"softmax"') + 1)]


def test_a_local_class_named_dense_is_not_keras() -> None:
    code = """
    class Dense:
        def __init__(self, units, activation=None):
            self.units = units
    class Sequential(list):
        pass
    m = Sequential([Dense(1, activation="softmax")])
    """
    assert codes_at(code) == []


def test_sequential_list_and_add_chain_and_layers_keyword() -> None:
    module = spec(
        """
        import keras
        a = keras.Sequential([keras.layers.Dense(4, activation="relu"), keras.layers.Dense(2)])
        b = keras.Sequential()
        b.add(keras.layers.Dense(4, activation="relu"))
        b.add(keras.layers.Dense(3, activation="softmax"))
        c = keras.Sequential(layers=[keras.layers.Dense(5, activation="sigmoid")])
        """
    )
    assert [m.kind for m in module.models] == ["sequential"] * 3
    assert [[layer.class_name for layer in m.layers] for m in module.models] == [
        ["Dense", "Dense"],
        ["Dense", "Dense"],
        ["Dense"],
    ]
    outputs = [(m.outputs[0].units, m.outputs[0].activation) for m in module.models]
    assert outputs == [
        (Known(2), Known(None)),
        (Known(3), Known("softmax")),
        (Known(5), Known("sigmoid")),
    ]
    assert [m.name for m in module.models] == ["a", "b", "c"]


def test_functional_model_with_keywords_and_positional_arguments() -> None:
    module = spec(
        """
        from keras import Input, Model, layers
        inputs = Input(shape=(8,))
        x = layers.Dense(16, activation="relu")(inputs)
        x = layers.Dropout(0.2)(x)
        outputs = layers.Dense(3, activation="softmax")(x)
        m1 = Model(inputs=inputs, outputs=outputs)
        m2 = Model(inputs, outputs)
        """
    )
    for model in module.models:
        assert model.kind == "functional"
        names = [layer.class_name for layer in model.layers]
        assert names == ["InputLayer", "Dense", "Dropout", "Dense"]
        assert (model.outputs[0].units, model.outputs[0].activation) == (Known(3), Known("softmax"))


def test_multi_output_losses_by_list_and_by_dict() -> None:
    code = """
    import keras
    inp = keras.Input((4,))
    a = keras.layers.Dense(1, activation="softmax", name="a")(inp)
    b = keras.layers.Dense(3, activation="softmax", name="b")(inp)
    m = keras.Model(inp, [a, b])
    m.compile(optimizer="adam", loss=["binary_crossentropy", "mse"])
    n = keras.Model(inp, {"a": a, "b": b})
    n.compile(optimizer="adam", loss={"a": "binary_crossentropy", "b": "mse"})
    """
    # The 1-unit softmax once (a); the softmax trained with mse (b) is silent: nothing
    # shows its targets are continuous (a softmax trained with mse may be a classifier).
    assert codes_at(code) == [("KC101", 3, 38)]
    module = spec(code)
    first, second = module.models
    assert first.compile.loss_for(1, first.outputs[1]).name == Known("mean_squared_error")
    assert second.compile.loss_for(1, second.outputs[1]).name == Known("mean_squared_error")
    assert second.outputs[0].name == "a"


def test_builder_function_is_evaluated_per_call_site() -> None:
    code = """
    from keras.models import Sequential
    from keras.layers import Dense
    def build(classes, act="softmax"):
        model = Sequential()
        model.add(Dense(classes, activation=act))
        model.compile(loss="categorical_crossentropy", optimizer="adam")
        return model
    ok = build(3)
    bad = build(classes=1)
    also_ok = build(1, act="sigmoid")
    """
    assert [c for c, _, _ in codes_at(code)] == ["KC101", "KC108"]
    assert codes_at(code)[0][1] == 5


def test_builder_never_called_is_checked_with_unknown_arguments() -> None:
    code = """
    import keras
    def build(n):
        return keras.Sequential([keras.layers.Dense(n, activation="softmax"),
                                 keras.layers.Dense(1, activation="softmax")])
    """
    assert codes_at(code) == [("KC101", 4, 63)]


def test_compile_and_fit_attach_to_the_model_returned_by_a_builder() -> None:
    module = spec(
        """
        import keras
        def make():
            return keras.Sequential([keras.layers.Dense(1)])
        model = make()
        model.compile(loss="mse", optimizer="adam")
        model.fit(x, y)
        """
    )
    (model,) = module.models
    assert model.compile is not None and len(model.fits) == 1


def test_subclassed_model_output_comes_from_call() -> None:
    code = """
    import keras
    class Net(keras.Model):
        def __init__(self):
            super().__init__()
            self.hidden = keras.layers.Dense(32, activation="relu")
            self.out = keras.layers.Dense(1, activation="softmax")
        def call(self, x):
            x = self.hidden(x)
            return self.out(x)
    model = Net()
    model.compile(loss="binary_crossentropy", optimizer="adam")
    """
    assert codes_at(code) == [("KC101", 6, 53)]
    (model,) = spec(code).models
    assert model.kind == "subclass" and model.compile is not None


def test_several_models_in_one_file_keep_their_own_compile() -> None:
    module = spec(
        """
        import keras
        a = keras.Sequential([keras.layers.Dense(1, activation="sigmoid")])
        b = keras.Sequential([keras.layers.Dense(1)])
        a.compile(loss="binary_crossentropy")
        b.compile(loss="mse")
        """
    )
    losses = [m.compile.losses[0][1].name for m in module.models]
    assert losses == [Known("binary_crossentropy"), Known("mean_squared_error")]


def test_main_guard_is_not_a_condition() -> None:
    code = """
    import keras
    if __name__ == "__main__":
        m = keras.Sequential()
        m.add(keras.layers.Dense(1, activation="softmax"))
    """
    assert [c for c, _, _ in codes_at(code)] == ["KC101"]


@pytest.mark.parametrize(
    ("activation", "expected"),
    [
        ('activation="softmax"', Known("softmax")),
        ("activation=None", Known(None)),
        ("", Known(None)),
        ("activation=keras.activations.softmax", Known("softmax")),
        ("activation=tf.nn.softmax", Known("softmax")),
        ("activation=tf.keras.activations.sigmoid", Known("sigmoid")),
        ('activation="swish"', Known("silu")),
        ("activation=my_activation", UNKNOWN),
    ],
)
def test_activation_spellings(activation: str, expected: object) -> None:
    separator = ", " if activation else ""
    module = spec(
        f"""
        import keras
        import tensorflow as tf
        m = keras.Sequential([keras.layers.Dense(4{separator}{activation})])
        """
    )
    assert module.models[0].outputs[0].activation == expected


@pytest.mark.parametrize(
    "head",
    [
        'keras.layers.Dense(1), keras.layers.Activation("softmax")',
        "keras.layers.Dense(1), keras.layers.Softmax()",
        'keras.layers.Dense(1), keras.layers.Dropout(0.5), keras.layers.Activation("softmax")',
    ],
)
def test_activation_layers_after_the_output(head: str) -> None:
    module = spec(f"import keras\nm = keras.Sequential([{head}])\n")
    output = module.models[0].outputs[0]
    assert (output.units, output.activation) == (Known(1), Known("softmax"))


def test_activation_function_applied_to_the_output_tensor() -> None:
    module = spec(
        """
        import keras
        import tensorflow as tf
        i = keras.Input((3,))
        o = tf.nn.softmax(keras.layers.Dense(1)(i))
        m = keras.Model(i, o)
        """
    )
    output = module.models[0].outputs[0]
    assert (output.units, output.activation) == (Known(1), Known("softmax"))


@pytest.mark.parametrize(
    ("loss", "name", "from_logits"),
    [
        ('"bce"', "binary_crossentropy", False),
        ('"mse"', "mean_squared_error", False),
        ('"categorical_crossentropy"', "categorical_crossentropy", False),
        ("keras.losses.BinaryCrossentropy(from_logits=True)", "binary_crossentropy", True),
        ("keras.losses.BinaryCrossentropy(True)", "binary_crossentropy", True),
        ("keras.losses.SparseCategoricalCrossentropy()", "sparse_categorical_crossentropy", False),
        ("keras.losses.binary_crossentropy", "binary_crossentropy", False),
        ("LOSS_OBJECT", "categorical_crossentropy", True),
    ],
)
def test_loss_spellings(loss: str, name: str, from_logits: bool) -> None:
    module = spec(
        f"""
        import keras
        LOSS_OBJECT = keras.losses.CategoricalCrossentropy(from_logits=True)
        m = keras.Sequential([keras.layers.Dense(2)])
        m.compile(optimizer="adam", loss={loss})
        """
    )
    loss_spec = module.models[0].compile.losses[0][1]
    assert (loss_spec.name, loss_spec.from_logits) == (Known(name), Known(from_logits))


def test_metrics_and_optimizers_as_strings_and_objects() -> None:
    module = spec(
        """
        import keras
        opt = keras.optimizers.Adam(learning_rate=1e-3)
        m = keras.Sequential([keras.layers.Dense(2)])
        m.compile(optimizer=opt, loss="mse", metrics=["acc", keras.metrics.AUC()])
        n = keras.Sequential([keras.layers.Dense(2)])
        n.compile("rmsprop", "mse")
        """
    )
    first, second = module.models
    assert [(m.written, m.name) for _, m in first.compile.metrics] == [
        ("acc", Known("accuracy")),
        ("AUC", UNKNOWN),
    ]
    assert first.compile.optimizer.name == Known("Adam")
    assert second.compile.optimizer.name == Known("rmsprop")


@pytest.mark.parametrize(
    "constants",
    [
        "N_CLASSES = 1\nACT = 'softmax'",
        "N_CLASSES = 2 - 1\nACT = 'soft' + 'max'",
        "N_CLASSES = 4 // 4\nACT = ('softmax', 'relu')[0]",
        "SHAPE = (1, 'softmax')\nN_CLASSES, ACT = SHAPE",
    ],
)
def test_constants_and_simple_arithmetic(constants: str) -> None:
    model = "m = keras.Sequential([keras.layers.Dense(N_CLASSES, activation=ACT)])"
    code = f"import keras\n{constants}\n{model}\n"
    assert [c for c, _, _ in codes_at(code)] == ["KC101"]


def test_function_level_constants() -> None:
    code = """
    import keras
    def build():
        units = 1
        return keras.Sequential([keras.layers.Dense(units, activation="softmax")])
    """
    assert [c for c, _, _ in codes_at(code)] == ["KC101"]


def test_a_name_reassigned_under_an_unknown_condition_is_unknown() -> None:
    code = """
    import keras
    units = 1
    if flag:
        units = 10
    m = keras.Sequential([keras.layers.Dense(units, activation="softmax")])
    """
    assert codes_at(code) == []


def test_loop_over_a_literal_list_is_unrolled() -> None:
    module = spec(
        """
        import keras
        m = keras.Sequential()
        for units in [64, 32, 1]:
            m.add(keras.layers.Dense(units, activation="softmax"))
        """
    )
    assert [layer.units for layer in module.models[0].layers] == [Known(64), Known(32), Known(1)]


@pytest.mark.parametrize(
    "code",
    [
        "def train(lr=0.01):\n    return lr\ntrain(lr=0.1)\nimport keras\n",
        "import keras\nemb = keras.layers.Embedding(input_dim=1000, output_dim=64)\n",
        "import keras\nm = keras.Sequential([keras.layers.Dense(n, activation='softmax')])\n",
        "import keras\nm = keras.Sequential([keras.layers.Dense(1)])\nm.compile(loss=my_loss)\n",
        "import keras\nm = keras.Sequential([keras.layers.Dense(1, activation='softmax')][:0])\n",
    ],
)
def test_precision_cases_stay_silent(code: str) -> None:
    assert codes_at(code) == []


CHANGED_IN_PLACE = {
    "append to the layer list": """
        stack = [layers.Dense(64, activation="relu"), layers.Dense(1)]
        stack.append(layers.Activation("sigmoid"))
        model = keras.Sequential(stack)
        model.compile(loss="binary_crossentropy")
        """,
    "an alias of the list changed": """
        stack = [layers.Dense(1, activation="softmax")]
        same = stack
        same.insert(0, layers.Dense(10, activation="softmax"))
        same.pop()
        model = keras.Sequential(stack)
        """,
    "an item assigned": """
        units = [64, 1]
        units[-1] = 10
        model = keras.Sequential([layers.Dense(units[-1], activation="softmax")])
        """,
    "a dict updated": """
        config = {"units": 1}
        config.update(units=3)
        model = keras.Sequential([layers.Dense(config["units"], activation="softmax")])
        """,
    "an item deleted": """
        head = [layers.Dense(1, activation="softmax")]
        del head[0]
        model = keras.Sequential([layers.Dense(8), *head])
        """,
    "changed inside a helper": """
        stack = [layers.Dense(1)]

        def finish():
            stack.append(layers.Activation("sigmoid"))

        finish()
        model = keras.Sequential(stack)
        model.compile(loss="binary_crossentropy")
        """,
    "the model's last layer popped": """
        model = keras.Sequential(
            [layers.Dense(10, activation="softmax"), layers.Dense(1, activation="softmax")]
        )
        model.pop()
        """,
}


@pytest.mark.parametrize("code", CHANGED_IN_PLACE.values(), ids=CHANGED_IN_PLACE.keys())
def test_a_value_changed_in_place_is_not_reported_stale(code: str) -> None:
    """The interpreter does not follow in-place changes, so a list, dict or set changed in
    place becomes UNKNOWN (and a popped Sequential loses its last layer): the rules must not
    judge the value it had before (each case was a false alarm)."""
    assert codes_at("import keras\nfrom keras import layers\n" + textwrap.dedent(code)) == []


def test_reading_a_list_keeps_it_known() -> None:
    code = """
        import keras
        from keras import layers
        units = [64, 1]
        position = units.index(1)
        model = keras.Sequential([layers.Dense(units[-1], activation="softmax")])
        """
    assert codes_at(code) == [("KC101", 5, 62)]


SEQUENTIAL_ONE_UNIT = """
import keras
from helpers import extend
model = keras.Sequential([keras.layers.Dense(1, activation="sigmoid")])
{between}
model.compile(loss="categorical_crossentropy")
"""


@pytest.mark.parametrize(
    ("between", "found"),
    [
        ("extend(model)", []),  # imported from another file: it may add layers
        ("helpers_module = extend\nhelpers_module(model=model)", []),
        ("print(model)", [("KC108", 5)]),  # a builtin does not change it
        ("keras.utils.plot_model(model)", [("KC108", 5)]),  # nor does Keras
        ("def show(m):\n    return m.name\nshow(model)", [("KC108", 7)]),  # followed
    ],
    ids=["imported", "imported-keyword", "builtin", "keras", "local"],
)
def test_a_sequential_handed_to_unseen_code_before_compile_is_not_judged(
    between: str, found: list[tuple[str, int]]
) -> None:
    code = SEQUENTIAL_ONE_UNIT.format(between=between)
    assert [(c, line) for c, line, _ in codes_at(code)] == found


def test_handing_a_compiled_model_over_changes_nothing() -> None:
    code = """
        import keras
        from helpers import log_model
        model = keras.Sequential([keras.layers.Dense(1, activation="sigmoid")])
        model.compile(loss="categorical_crossentropy")
        log_model(model)
        """
    assert [c for c, _, _ in codes_at(code)] == ["KC108"]
