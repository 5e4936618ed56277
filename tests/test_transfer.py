"""Transfer learning and the training procedure (KC406-KC409): the trainable flags in program
order, pretrained backbones and the pixels reaching them, and labels ordered by class."""

from __future__ import annotations

import json

from conftest import codes_at, extract_module

from kerascheck.engine import Options, lint_notebook
from kerascheck.ir import UNKNOWN, Known, ModelSpec

# ----------------------------------------------------------------------------- trainable
BASE = """
import keras
base = keras.Sequential([keras.Input((8,)), keras.layers.Dense(8)])
model = keras.Sequential([keras.Input((8,)), base, keras.layers.Dense(1)])
"""


def kc406(code: str, flavour: str = "keras3") -> list[tuple[str, int, int]]:
    return codes_at(BASE + code, select=("KC406",), target_keras=flavour)


def model_named(module_code: str, name: str) -> ModelSpec:
    module = extract_module(module_code)
    return next(m for m in module.models if m.name == name)


def test_each_training_records_the_flags_at_compile_first_training_and_now() -> None:
    model = model_named(
        BASE
        + """
base.trainable = False
model.compile(optimizer="adam", loss="mse")
model.fit(x, y)
base.trainable = True
model.fit(x, y)
""",
        "model",
    )
    first, second = (run.trainable for run in model.fits)
    assert [(s.target, s.at_compile, s.at_first_training, s.now) for s in first] == [
        ("base", Known(False), None, Known(False))
    ]
    assert [(s.target, s.at_compile, s.at_first_training, s.now, s.part) for s in second] == [
        ("base", Known(False), Known(False), Known(True), 0)
    ]


def test_an_unfreeze_after_the_first_fit_without_compile_is_reported_at_the_next_fit() -> None:
    assert kc406("""
base.trainable = False
model.compile(optimizer="adam", loss="mse")
model.fit(x, y)
base.trainable = True
model.fit(x, y)
model.fit(x, y)
""") == [("KC406", 9, 1)]  # once: the first training the change misleads


def test_a_recompile_after_the_change_makes_it_take_effect() -> None:
    assert (
        kc406("""
model.compile(optimizer="adam", loss="mse")
model.fit(x, y)
base.trainable = False
model.compile(optimizer="adam", loss="mse")
model.fit(x, y)
""")
        == []
    )


def test_a_change_in_one_branch_only_leaves_the_next_fit_unjudged() -> None:
    assert (
        kc406("""
model.compile(optimizer="adam", loss="mse")
model.fit(x, y)
if freeze:
    base.trainable = False
model.fit(x, y)
""")
        == []
    )


def test_the_same_change_on_every_branch_is_reported() -> None:
    assert kc406("""
model.compile(optimizer="adam", loss="mse")
model.fit(x, y)
if verbose:
    print("freezing")
    base.trainable = False
else:
    base.trainable = False
model.fit(x, y)
""") == [("KC406", 12, 1)]


def test_a_first_training_in_one_branch_only_leaves_later_changes_unjudged() -> None:
    assert (
        kc406("""
model.compile(optimizer="adam", loss="mse")
if warm_up:
    model.fit(x, y)
base.trainable = False
model.fit(x, y)
""")
        == []
    )


def test_a_loop_over_the_layers_sets_every_layer() -> None:
    assert kc406("""
model.compile(optimizer="adam", loss="mse")
model.fit(x, y)
for layer in base.layers:
    layer.trainable = False
model.fit(x, y)
""") == [("KC406", 9, 1)]


def test_a_conditional_freeze_inside_the_loop_leaves_the_layers_unknown() -> None:
    assert (
        kc406("""
model.compile(optimizer="adam", loss="mse")
model.fit(x, y)
for layer in base.layers:
    if layer.name.startswith("conv"):
        layer.trainable = False
model.fit(x, y)
""")
        == []
    )


def test_a_loop_that_skips_layers_with_continue_leaves_them_unknown() -> None:
    assert (
        kc406("""
model.compile(optimizer="adam", loss="mse")
model.fit(x, y)
for layer in base.layers:
    if "norm" in layer.name:
        continue
    layer.trainable = False
model.fit(x, y)
""")
        == []
    )


def test_a_followed_helper_that_freezes_counts() -> None:
    assert kc406("""
def freeze(network):
    for layer in network.layers:
        layer.trainable = False

model.compile(optimizer="adam", loss="mse")
model.fit(x, y)
freeze(base)
model.fit(x, y)
""") == [("KC406", 12, 1)]


def test_a_model_handed_to_unseen_code_is_no_longer_judged() -> None:
    # The imported helper may recompile the model or change its flags back.
    assert (
        kc406("""
from helpers import prepare_fine_tuning
model.compile(optimizer="adam", loss="mse")
model.fit(x, y)
base.trainable = True
prepare_fine_tuning(model)
model.fit(x, y)
""")
        == []
    )


def test_a_parent_flag_masks_its_layers() -> None:
    # The base is frozen as a whole at the first fit: freezing its layers too changes nothing.
    assert (
        kc406("""
base.trainable = False
model.compile(optimizer="adam", loss="mse")
model.fit(x, y)
for layer in base.layers:
    layer.trainable = False
model.fit(x, y)
""")
        == []
    )


def test_tf2_reads_the_flags_at_compile() -> None:
    code = """
model.compile(optimizer="adam", loss="mse")
base.trainable = False
model.fit(x, y)
"""
    assert kc406(code, "tf2") == [("KC406", 7, 1)]
    assert kc406(code, "keras3") == []  # Keras 3 honours a change before the first fit


def test_the_gan_idiom_per_flavour() -> None:
    gan = """
import keras
generator = keras.Sequential([keras.Input((2,)), keras.layers.Dense(4)])
discriminator = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation="sigmoid")])
discriminator.compile(optimizer="adam", loss="binary_crossentropy")
discriminator.trainable = False
combined = keras.Sequential([generator, discriminator])
combined.compile(optimizer="adam", loss="binary_crossentropy")
for step in range(steps):
    discriminator.train_on_batch(real, ones)
    combined.train_on_batch(noise, ones)
"""
    assert codes_at(gan, select=("KC406",), target_keras="keras3") == [("KC406", 9, 5)]
    assert codes_at(gan, select=("KC406",), target_keras="tf2") == []
    assert codes_at(gan, select=("KC406",), target_keras="legacy") == []


def test_a_layer_object_flag_counts_for_the_model_holding_it() -> None:
    assert codes_at(
        """
import keras
hidden = keras.layers.Dense(8)
model = keras.Sequential([keras.Input((4,)), hidden, keras.layers.Dense(1)])
model.compile(optimizer="adam", loss="mse")
model.fit(x, y)
hidden.trainable = False
model.fit(x, y)
""",
        select=("KC406",),
    ) == [("KC406", 7, 1)]


def test_notebook_cells_are_in_order(tmp_path) -> None:
    cells = [
        BASE,
        'base.trainable = False\nmodel.compile(optimizer="adam", loss="mse")\nmodel.fit(x, y)\n',
        "base.trainable = True\n",
        "model.fit(x, y)\n",
    ]
    document = {
        "cells": [{"cell_type": "code", "metadata": {}, "outputs": [], "source": c} for c in cells],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps(document), encoding="utf-8")
    result = lint_notebook(str(path), Options(select=("KC406",)))
    assert [(f.span.cell, f.span.line) for f in result.findings] == [(4, 1)]


# ----------------------------------------------------------------------------- backbones
def test_an_application_is_a_model_with_its_weights() -> None:
    module = extract_module("""
from tensorflow.keras.applications.resnet50 import ResNet50
base = ResNet50(include_top=False)
other = ResNet50(weights=None)
""")
    base, other = module.models
    assert base.kind == "application" and base.application is not None
    assert base.application.constructor == "ResNet50"
    assert base.application.weights == Known("imagenet")
    assert other.application is not None and other.application.weights == Known(None)


def _ops(code: str) -> list[list[str] | None]:
    model = model_named(code, "model")
    return [
        [op.written for op in use.input_ops] if use.input_ops is not None else None
        for part in model.parts
        for use in part.calls
    ]


def test_pixel_operations_in_front_of_a_backbone() -> None:
    assert _ops("""
import keras
base = keras.applications.ResNet50(include_top=False, pooling="avg")
inputs = keras.Input((224, 224, 3))
x = keras.layers.RandomFlip()(inputs)
x = keras.layers.Rescaling(1.0 / 127.5, offset=-1)(x)
x = x * 2.0
model = keras.Model(inputs, keras.layers.Dense(1)(base(x)))
""") == [["RandomFlip", "Rescaling(1/127.5, offset=-1)", "x * 2.0"]]


def test_preprocess_input_spellings_name_their_module() -> None:
    assert _ops("""
import tensorflow as tf
from keras.applications.vgg16 import preprocess_input
base = tf.keras.applications.ResNet50(include_top=False, pooling="avg")
inputs = tf.keras.Input((224, 224, 3))
x = tf.keras.applications.resnet50.preprocess_input(inputs)
y = preprocess_input(inputs)
z = tf.keras.applications.imagenet_utils.preprocess_input(inputs, mode="tf")
w = tf.keras.layers.Lambda(tf.keras.applications.mobilenet_v2.preprocess_input)(inputs)
model = tf.keras.Model(inputs, [base(x), base(y), base(z), base(w)])
""") == [
        ["resnet50.preprocess_input"],
        ["vgg16.preprocess_input"],
        ["imagenet_utils.preprocess_input"],
        ["Lambda(mobilenet_v2.preprocess_input)"],
    ]


def test_an_operation_the_analysis_cannot_follow_makes_the_path_unknown() -> None:
    assert _ops("""
import keras
import tensorflow as tf
base = keras.applications.ResNet50(include_top=False, pooling="avg")
inputs = keras.Input((224, 224, 3))
x = keras.layers.Normalization()(inputs)
y = tf.image.per_image_standardization(inputs)
model = keras.Model(inputs, [base(x), base(y)])
""") == [None, None]


def test_a_graph_built_on_the_backbone_output_and_a_nested_feature_extractor() -> None:
    module = extract_module("""
import keras
vgg = keras.applications.VGG16(include_top=False, input_shape=(64, 64, 3))
extractor = keras.Model(vgg.input, vgg.layers[-1].output)
model = keras.Sequential([extractor, keras.layers.Flatten(), keras.layers.Dense(1)])
""")
    model = next(m for m in module.models if m.name == "model")
    (part,) = model.parts
    assert part.name == "extractor" and part.application is None
    (inner,) = part.parts
    assert inner.application is not None and inner.application.constructor == "VGG16"
    assert [use.input_ops for use in inner.calls] == [()]


def test_image_generators_give_their_scale() -> None:
    module = extract_module("""
import keras
from tensorflow.keras.preprocessing.image import ImageDataGenerator
from tensorflow.keras.applications.resnet50 import preprocess_input
model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
model.fit(ImageDataGenerator(rescale=1.0 / 255).flow_from_directory("d"))
model.fit(ImageDataGenerator(preprocessing_function=preprocess_input).flow_from_directory("d"))
model.fit(ImageDataGenerator(rescale=1.0 / 255, samplewise_center=True).flow_from_directory("d"))
model.fit(ImageDataGenerator(horizontal_flip=True).flow_from_directory("d"))
model.fit(ImageDataGenerator(rescale=1.0 / 255).flow(images, labels))
""")
    assert [run.x.scaled for run in module.models[0].runs] == [
        Known("unit"),
        Known("preprocess_input:resnet50"),
        UNKNOWN,
        Known("raw_0_255"),
        Known("unit"),  # rescale=1/255 says the arrays are 0-255 pixels
    ]


def test_split_arrays_through_a_rescaling_generator_are_pixels_in_0_1() -> None:
    # The parts of a split are as loaded; rescale=1/255 says they are 0-255 pixels, so the
    # backbone is fed [0, 1]. The held-out part given as loaded is on a scale the engine
    # does not know (and a model holding a backbone may scale its input): silent there.
    code = """
import keras
from sklearn.model_selection import train_test_split
from keras.preprocessing.image import ImageDataGenerator
x_train, x_test, y_train, y_test = train_test_split(images, labels, test_size=0.2)
base = keras.applications.InceptionV3(include_top=False, pooling="avg")
model = keras.Sequential([base, keras.layers.Dense(3, activation="softmax")])
model.compile(loss="categorical_crossentropy", optimizer="adam")
model.fit(ImageDataGenerator(rescale=1.0 / 255).flow(x_train, y_train))
model.evaluate(x_test, y_test)
"""
    assert codes_at(code, select=("KC407", "KC405")) == [("KC407", 8, 11)]


def test_kc407_per_flavour_and_weights() -> None:
    code = """
import keras
base = keras.applications.EfficientNetB0(include_top=False, pooling="avg", weights={weights})
inputs = keras.Input((224, 224, 3))
model = keras.Model(inputs, base(keras.layers.Rescaling(1 / 255)(inputs)))
"""
    pretrained = code.format(weights='"imagenet"')
    assert codes_at(pretrained, select=("KC407",)) == [("KC407", 4, 34)]
    assert codes_at(pretrained, select=("KC407",), target_keras="tf2") == [("KC407", 4, 34)]
    assert codes_at(pretrained, select=("KC407",), target_keras="legacy") == []
    assert codes_at(code.format(weights='"weights.h5"'), select=("KC407",)) == []


def test_kc408_reports_each_call_once() -> None:
    code = """
import keras
base = keras.applications.ResNet50(include_top=False, pooling="avg")
inputs = keras.Input((224, 224, 3))
model = keras.Model(inputs, keras.layers.Dense(2)(base(inputs)))
base.trainable = True
model.compile(optimizer="adam", loss="mse")
model.fit(x, y)
model.fit(x, y)
"""
    assert codes_at(code, select=("KC408",)) == [("KC408", 4, 51)]


# ----------------------------------------------------------------------------- order
def y_order(code: str) -> list[object]:
    module = extract_module("import numpy as np\nimport keras\n" + code)
    return [run.y.label_order for model in module.models for run in model.fits]


MODEL = "model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])\n"


def test_blocks_of_different_labels_are_ordered_one_block_is_not() -> None:
    assert y_order(
        MODEL
        + """
model.fit(x, np.concatenate([np.zeros(50), np.ones(50)]))
model.fit(x, np.append(np.full(10, 2), np.full(10, 3)))
model.fit(x, np.concatenate([np.ones(50), np.ones(50)]))
model.fit(x, np.array([0] * 5 + [1] * 5))
model.fit(x, np.zeros(100))
"""
    ) == [Known("by_label"), Known("by_label"), UNKNOWN, Known("by_label"), UNKNOWN]


def test_what_keeps_and_what_drops_the_order() -> None:
    assert y_order(
        MODEL
        + """
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelEncoder
y = np.concatenate([np.zeros(50), np.ones(50)])
model.fit(x, y[:80])
model.fit(x, keras.utils.to_categorical(y, 2))
model.fit(x, LabelEncoder().fit_transform(y))
model.fit(x, y.astype("int32"))
model.fit(x, y[y > 0])
model.fit(x, y[np.random.permutation(100)])
a, b, c, d = train_test_split(x, y)
model.fit(c, d)
a, b, c, d = train_test_split(x, y, shuffle=False)
model.fit(c, d)
"""
    ) == [
        Known("by_label"),
        Known("by_label"),
        Known("by_label"),
        Known("by_label"),
        UNKNOWN,
        UNKNOWN,
        UNKNOWN,
        Known("by_label"),
    ]


def test_in_place_shuffles_and_unseen_helpers_drop_the_order() -> None:
    assert y_order(
        MODEL
        + """
import random
from helpers import mix
y1 = np.concatenate([np.zeros(5), np.ones(5)])
np.random.shuffle(y1)
model.fit(x, y1)
y2 = np.concatenate([np.zeros(5), np.ones(5)])
rng.shuffle(y2)
model.fit(x, y2)
y3 = np.concatenate([np.zeros(5), np.ones(5)])
mix(x, y3)
model.fit(x, y3)
y4 = np.concatenate([np.zeros(5), np.ones(5)])
print(len(y4), np.mean(y4))
model.fit(x, y4)
"""
    ) == [UNKNOWN, UNKNOWN, UNKNOWN, Known("by_label")]


def test_sorting_and_sorted_data_sets() -> None:
    assert y_order(
        MODEL
        + """
from sklearn.datasets import load_iris, load_wine, load_digits
labels = np.random.randint(0, 3, 100)
model.fit(x, np.sort(labels))
idx = np.argsort(labels)
model.fit(x[idx], labels[idx])
X, t = load_iris(return_X_y=True)
model.fit(X, t)
model.fit(x, load_wine().target)
X, t = load_digits(return_X_y=True)
model.fit(X, t)
"""
    ) == [Known("by_label"), Known("by_label"), Known("by_label"), Known("by_label"), UNKNOWN]
