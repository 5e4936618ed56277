"""Each pattern of the data rules (KC403's leaks, KC105's accuracy faults) with at least five
programs that must be flagged, at the exact line, and five near misses that must not.

The rules' own examples (run by test_rule_examples.py) show one or two of each; these
complete the set per pattern.
"""

from __future__ import annotations

import textwrap

import pytest

from kerascheck.engine import Options, lint_source

MNIST = """
import numpy as np
import keras
import tensorflow as tf
from sklearn.metrics import accuracy_score, confusion_matrix
(x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
model = keras.Sequential([keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")])
model.compile(loss="sparse_categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
"""  # 7 lines: a snippet appended to it starts at line 8

TABULAR = """
import keras
import pandas as pd
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler, MinMaxScaler, LabelEncoder
from sklearn.metrics import accuracy_score
model = keras.Sequential([keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1, activation="sigmoid")])
model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
"""  # 7 lines

IMAGES = """
import os
import numpy as np
import keras
import tensorflow as tf
from keras.preprocessing.image import ImageDataGenerator
model = keras.Sequential([keras.layers.Flatten(), keras.layers.Dense(2, activation="softmax")])
model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
"""  # 7 lines


def lines(code: str, source: str, flavour: str | None = None) -> list[int]:
    text = textwrap.dedent(source).lstrip("\n")
    result = lint_source(text, "example.py", Options(select=(code,), target_keras=flavour))
    assert not result.errors, result.errors
    return sorted(f.span.line for f in result.findings if f.code == code)


def case(header: str, body: str) -> str:
    return header.lstrip("\n") + textwrap.dedent(body).lstrip("\n")


# --------------------------------------------------------------------------- KC403
EVALUATED_ON_TRAINING = [
    (MNIST, "model.fit(x_train, y_train)\nloss, acc = model.evaluate(x_train, y_train)\n", [9]),
    (
        MNIST,
        "x_eval = x_train.copy()\nmodel.fit(x_train, y_train)\nmodel.evaluate(x_eval, y_train)\n",
        [10],
    ),
    (
        MNIST,
        "model.fit(x_train / 255, y_train)\n"
        "score = model.evaluate(x_train[:1000] / 255, y_train[:1000])\n"
        "print('Test accuracy:', score[1])\n",
        [9],
    ),
    (
        MNIST,
        "ds = tf.data.Dataset.from_tensor_slices((x_train, y_train)).batch(32)\n"
        "model.fit(ds, epochs=2)\nmodel.evaluate(ds)\n",
        [10],
    ),
    (
        IMAGES,
        "gen = ImageDataGenerator(rescale=1 / 255).flow_from_directory('data/train')\n"
        "model.fit(gen)\nresults = model.evaluate(gen)\n",
        [10],
    ),
    (
        MNIST,
        "flow = keras.preprocessing.image.ImageDataGenerator().flow(x_train, y_train)\n"
        "model.fit(flow)\nmodel.evaluate(x_train, y_train)\n",
        [10],
    ),
]
EVALUATED_NEAR_MISSES = [
    (MNIST, "model.fit(x_train, y_train)\nmodel.evaluate(x_test, y_test)\n"),
    (
        MNIST,
        "model.fit(x_train, y_train)\ntrain_acc = model.evaluate(x_train, y_train)[1]\n"
        "test_acc = model.evaluate(x_test, y_test)[1]\n",
    ),
    (
        MNIST,
        "model.fit(x_train, y_train)\n"
        "print('Training accuracy:', model.evaluate(x_train, y_train)[1])\n",
    ),
    (MNIST, "model.evaluate(x_train, y_train)\nmodel.fit(x_train, y_train)\n"),
    (
        MNIST,
        "from augment import jitter\nmodel.fit(x_train, y_train)\n"
        "model.evaluate(jitter(x_train), y_train)\n",
    ),
    (
        MNIST,
        "model.fit(x_train[:50000], y_train[:50000])\n"
        "model.evaluate(x_train[50000:], y_train[50000:])\n",
    ),
    (
        # Two items of one .npz file are different arrays.
        MNIST,
        "with np.load('mnist.npz') as data:\n"
        "    train = tf.data.Dataset.from_tensor_slices((data['x_train'], data['y_train']))\n"
        "    test = tf.data.Dataset.from_tensor_slices((data['x_test'], data['y_test']))\n"
        "model.fit(train.batch(64))\nmodel.evaluate(test.batch(64))\n",
    ),
    (
        MNIST,
        "for train_idx, test_idx in folds:\n"
        "    model.fit(x_train[train_idx], y_train[train_idx])\n"
        "    model.evaluate(x_train[test_idx], y_train[test_idx])\n",
    ),
]

SAME_SOURCE = [
    (
        IMAGES,
        "base = '/data/cats_and_dogs'\n"
        "train = ImageDataGenerator(rescale=1/255).flow_from_directory(os.path.join(base, 'train'))\n"
        "val = ImageDataGenerator(rescale=1/255).flow_from_directory(os.path.join(base, 'train'))\n"
        "model.fit(train, validation_data=val)\n",
        [11],
    ),
    (
        MNIST,
        "gen = keras.preprocessing.image.ImageDataGenerator()\n"
        "model.fit(gen.flow(x_train, y_train), validation_data=gen.flow(x_train, y_train))\n",
        [9],
    ),
    (
        IMAGES,
        "train_ds = keras.utils.image_dataset_from_directory('flowers')\n"
        "val_ds = keras.utils.image_dataset_from_directory('flowers')\n"
        "model.fit(train_ds, validation_data=val_ds)\n",
        [10],
    ),
    (
        MNIST,
        "x_val = x_train.astype('float32')\nmodel.fit(x_train, y_train, validation_data=(x_val, y_train))\n",
        [9],
    ),
    (
        TABULAR,
        "frame = pd.read_csv('data.csv')\n"
        "datagen = keras.preprocessing.image.ImageDataGenerator(rescale=1 / 255)\n"
        "train = datagen.flow_from_dataframe(frame, 'images', x_col='path', y_col='label')\n"
        "val = datagen.flow_from_dataframe(frame, 'images', x_col='path', y_col='label')\n"
        "model.fit(train, validation_data=val)\n",
        [12],
    ),
]
SAME_SOURCE_NEAR_MISSES = [
    (
        IMAGES,
        "base = '/data/cats_and_dogs'\n"
        "train = ImageDataGenerator(rescale=1/255).flow_from_directory(os.path.join(base, 'train'))\n"
        "val = ImageDataGenerator(rescale=1/255).flow_from_directory(os.path.join(base, 'validation'))\n"
        "model.fit(train, validation_data=val)\n",
    ),
    (
        IMAGES,
        "gen = ImageDataGenerator(rescale=1/255, validation_split=0.2)\n"
        "train = gen.flow_from_directory('photos', subset='training')\n"
        "val = gen.flow_from_directory('photos', subset='validation')\n"
        "model.fit(train, validation_data=val)\n",
    ),
    (
        IMAGES,
        "train_ds = keras.utils.image_dataset_from_directory('flowers', validation_split=0.2, subset='training', seed=1)\n"
        "val_ds = keras.utils.image_dataset_from_directory('flowers', validation_split=0.2, subset='validation', seed=1)\n"
        "model.fit(train_ds, validation_data=val_ds)\n",
    ),
    (
        IMAGES,
        "def run(train_dir, val_dir):\n"
        "    train = ImageDataGenerator().flow_from_directory(train_dir)\n"
        "    val = ImageDataGenerator().flow_from_directory(val_dir)\n"
        "    model.fit(train, validation_data=val)\n",
    ),
    (
        TABULAR,
        "frame = pd.read_csv('data.csv')\ntrain_df, val_df = train_test_split(frame, test_size=0.2)\n"
        "datagen = keras.preprocessing.image.ImageDataGenerator(rescale=1 / 255)\n"
        "train = datagen.flow_from_dataframe(train_df, 'images', x_col='path', y_col='label')\n"
        "val = datagen.flow_from_dataframe(val_df, 'images', x_col='path', y_col='label')\n"
        "model.fit(train, validation_data=val)\n",
    ),
]

AUGMENTED = [
    (
        IMAGES,
        "train_gen = ImageDataGenerator(rescale=1/255, rotation_range=40)\n"
        "train = train_gen.flow_from_directory('data/train')\n"
        "val = train_gen.flow_from_directory('data/val')\n"
        "model.fit(train, validation_data=val)\n",
        [11],
    ),
    (
        IMAGES,
        "gen = ImageDataGenerator(rescale=1/255, zoom_range=0.2)\n"
        "model.fit(gen.flow_from_directory('a'), validation_data=gen.flow_from_directory('b'))\n",
        [9],
    ),
    (
        IMAGES,
        "gen = ImageDataGenerator(horizontal_flip=True, rescale=1/255)\n"
        "model.fit(ImageDataGenerator(rescale=1/255).flow_from_directory('a'))\n"
        "model.evaluate(gen.flow_from_directory('test'))\n",
        [10],
    ),
    (
        IMAGES,
        "aug = ImageDataGenerator(width_shift_range=0.1, height_shift_range=0.1)\n"
        "model.fit(x, y, validation_data=aug.flow(x_val, y_val))\n",
        [9],
    ),
    (
        IMAGES,
        "flip = keras.layers.RandomFlip('horizontal')\n"
        "val_ds = keras.utils.image_dataset_from_directory('val').map(flip)\n"
        "model.fit(keras.utils.image_dataset_from_directory('train'), validation_data=val_ds)\n",
        [10],
    ),
]
AUGMENTED_NEAR_MISSES = [
    (
        IMAGES,
        "train = ImageDataGenerator(rescale=1/255, rotation_range=40).flow_from_directory('data/train')\n"
        "val = ImageDataGenerator(rescale=1/255).flow_from_directory('data/val')\n"
        "model.fit(train, validation_data=val)\n",
    ),
    (
        IMAGES,
        "gen = ImageDataGenerator(rescale=1/255, rotation_range=0, horizontal_flip=False)\n"
        "model.fit(gen.flow_from_directory('a'), validation_data=gen.flow_from_directory('b'))\n",
    ),
    (
        IMAGES,
        "from config import ROTATION\ngen = ImageDataGenerator(rotation_range=ROTATION)\n"
        "model.fit(gen.flow_from_directory('a'), validation_data=gen.flow_from_directory('b'))\n",
    ),
    (
        IMAGES,
        "tta = ImageDataGenerator(horizontal_flip=True)\n"
        "model.fit(ImageDataGenerator().flow_from_directory('a'))\n"
        "model.predict(tta.flow_from_directory('test'))\n",
    ),
    (
        # The augmenting training generator evaluated on purpose, as a training figure.
        IMAGES,
        "gen = ImageDataGenerator(rescale=1/255, rotation_range=40).flow_from_directory('data/train')\n"
        "model.fit(gen)\ntrain_loss, train_acc = model.evaluate(gen)\n",
    ),
    (
        IMAGES,
        "flip = keras.layers.RandomFlip('horizontal')\n"
        "train_ds = keras.utils.image_dataset_from_directory('train').map(flip)\n"
        "model.fit(train_ds, validation_data=keras.utils.image_dataset_from_directory('val'))\n",
    ),
]

OVERSAMPLED = [
    (
        TABULAR,
        "from sklearn.utils import resample\nX_up, y_up = resample(X, y)\n"
        "X_train, X_test, y_train, y_test = train_test_split(X_up, y_up)\n"
        "model.fit(X_train, y_train)\nmodel.evaluate(X_test, y_test)\n",
        [10],
    ),
    (
        TABULAR,
        "from imblearn.over_sampling import SMOTE\nX_res, y_res = SMOTE().fit_resample(X, y)\n"
        "X_train, X_val, y_train, y_val = train_test_split(X_res, y_res, test_size=0.2)\n"
        "model.fit(X_train, y_train, validation_data=(X_val, y_val))\n",
        [10],
    ),
    (
        TABULAR,
        "from imblearn.over_sampling import RandomOverSampler\nros = RandomOverSampler(random_state=0)\n"
        "X_res, y_res = ros.fit_resample(X, y)\n"
        "X_train, X_test, y_train, y_test = train_test_split(X_res, y_res)\n"
        "model.fit(X_train, y_train, epochs=5)\nmodel.evaluate(X_test, y_test)\n",
        [11],
    ),
    (
        TABULAR,
        "from sklearn.utils import resample\n"
        "X_up, y_up = resample(X, y, replace=True, n_samples=5000, random_state=1)\n"
        "X_train, X_test, y_train, y_test = train_test_split(X_up, y_up, stratify=y_up)\n"
        "model.fit(X_train, y_train, validation_data=(X_test, y_test))\n",
        [10],
    ),
    (
        TABULAR,
        "from imblearn.over_sampling import ADASYN\nX_res, y_res = ADASYN().fit_resample(X, y)\n"
        "model.fit(X_res[:8000], y_res[:8000], validation_data=(X_res[8000:], y_res[8000:]))\n",
        [10],
    ),
]
OVERSAMPLED_NEAR_MISSES = [
    (
        TABULAR,
        "from imblearn.over_sampling import SMOTE\n"
        "X_train, X_test, y_train, y_test = train_test_split(X, y)\n"
        "X_train, y_train = SMOTE().fit_resample(X_train, y_train)\n"
        "model.fit(X_train, y_train, validation_data=(X_test, y_test))\n",
    ),
    (
        TABULAR,
        "from sklearn.utils import resample\nX_sub, y_sub = resample(X, y, replace=False, n_samples=1000)\n"
        "X_train, X_test, y_train, y_test = train_test_split(X_sub, y_sub)\n"
        "model.fit(X_train, y_train, validation_data=(X_test, y_test))\n",
    ),
    (
        TABULAR,
        "from imblearn.under_sampling import RandomUnderSampler\n"
        "X_res, y_res = RandomUnderSampler().fit_resample(X, y)\n"
        "X_train, X_test, y_train, y_test = train_test_split(X_res, y_res)\n"
        "model.fit(X_train, y_train)\nmodel.evaluate(X_test, y_test)\n",
    ),
    (
        TABULAR,
        "from sklearn.utils import resample\nX_up, y_up = resample(X, y)\n"
        "X_train, X_test, y_train, y_test = train_test_split(X_up, y_up)\n"
        "model.fit(X_train, y_train)\n",
    ),
    (
        TABULAR,
        "from sklearn.utils import shuffle\nX_s, y_s = shuffle(X, y)\n"
        "X_train, X_test, y_train, y_test = train_test_split(X_s, y_s)\n"
        "model.fit(X_train, y_train)\nmodel.evaluate(X_test, y_test)\n",
    ),
]

FITTED_BEFORE_SPLIT = [
    (
        TABULAR,
        "X = pd.read_csv('features.csv').values\nscaler = StandardScaler()\nscaler.fit(X)\n"
        "X_s = scaler.transform(X)\nX_train, X_test, y_train, y_test = train_test_split(X_s, y)\n"
        "model.fit(X_train, y_train)\nmodel.evaluate(X_test, y_test)\n",
        [10],
    ),
    (
        TABULAR,
        "frame = pd.read_csv('data.csv')\nX = MinMaxScaler().fit_transform(frame.drop('label', axis=1).values)\n"
        "X_train, X_test, y_train, y_test = train_test_split(X, frame['label'])\n"
        "model.fit(X_train, y_train, validation_data=(X_test, y_test))\n",
        [9],
    ),
    (
        TABULAR,
        "from keras.preprocessing.text import Tokenizer\nframe = pd.read_csv('reviews.csv')\n"
        "texts = frame['text']\ntokenizer = Tokenizer(num_words=5000)\ntokenizer.fit_on_texts(texts)\n"
        "X = keras.utils.pad_sequences(tokenizer.texts_to_sequences(texts), maxlen=100)\n"
        "X_train, X_test, y_train, y_test = train_test_split(X, frame['label'])\n"
        "model.fit(X_train, y_train)\nmodel.evaluate(X_test, y_test)\n",
        [12],
    ),
    (
        TABULAR,
        "from sklearn.impute import SimpleImputer\nX = SimpleImputer(strategy='mean').fit_transform(X)\n"
        "X_train, X_test, y_train, y_test = train_test_split(X, y)\n"
        "model.fit(X_train, y_train)\nmodel.evaluate(X_test, y_test)\n",
        [9],
    ),
    (
        TABULAR,
        "X_train, X_test, y_train, y_test = train_test_split(X, y)\nscaler = StandardScaler()\n"
        "X_train = scaler.fit_transform(X_train)\nX_test = StandardScaler().fit_transform(X_test)\n"
        "model.fit(X_train, y_train)\nmodel.evaluate(X_test, y_test)\n",
        [11],
    ),
    (
        TABULAR,
        "X_train, X_test, y_train, y_test = train_test_split(X, y)\nscaler = StandardScaler()\n"
        "X_train = scaler.fit_transform(X_train)\nX_test = scaler.fit_transform(X_test)\n"
        "model.fit(X_train, y_train, validation_data=(X_test, y_test))\n",
        [11],
    ),
]
FITTED_NEAR_MISSES = [
    (
        TABULAR,
        "X_train, X_test, y_train, y_test = train_test_split(X, y)\nscaler = StandardScaler()\n"
        "X_train = scaler.fit_transform(X_train)\nX_test = scaler.transform(X_test)\n"
        "model.fit(X_train, y_train)\nmodel.evaluate(X_test, y_test)\n",
    ),
    (
        TABULAR,
        "y = LabelEncoder().fit_transform(labels)\n"
        "X_train, X_test, y_train, y_test = train_test_split(X, y)\n"
        "model.fit(X_train, y_train)\nmodel.evaluate(X_test, y_test)\n",
    ),
    (
        TABULAR,
        "X = StandardScaler().fit_transform(X)\nmodel.fit(X, y, validation_split=0.2)\n",
    ),
    (
        TABULAR,
        "from sklearn.preprocessing import Normalizer\nX = Normalizer().fit_transform(X)\n"
        "X_train, X_test, y_train, y_test = train_test_split(X, y)\n"
        "model.fit(X_train, y_train)\nmodel.evaluate(X_test, y_test)\n",
    ),
    (
        TABULAR,
        "from reference import load_reference\nscaler = StandardScaler().fit(load_reference())\n"
        "X_train, X_test, y_train, y_test = train_test_split(X, y)\n"
        "model.fit(scaler.transform(X_train), y_train)\nmodel.evaluate(scaler.transform(X_test), y_test)\n",
    ),
]

RESHUFFLED = [
    (
        MNIST,
        "ds = tf.data.Dataset.from_tensor_slices((x_train, y_train)).shuffle(60000, seed=42)\n"
        "train, val = ds.take(50000), ds.skip(50000)\nmodel.fit(train.batch(32), validation_data=val.batch(32))\n",
        [9],
    ),
    (
        MNIST,
        "ds = tf.data.Dataset.from_tensor_slices((x_train, y_train))\n"
        "ds = ds.shuffle(1000, reshuffle_each_iteration=True).batch(32)\n"
        "model.fit(ds.take(1500))\nmodel.evaluate(ds.skip(1500))\n",
        [11],
    ),
    (
        MNIST,
        "ds = tf.data.Dataset.from_tensor_slices((x_train, y_train)).shuffle(1000)\n"
        "val = ds.take(10000).batch(64)\ntrain = ds.skip(10000).batch(64)\n"
        "model.fit(train, validation_data=val)\n",
        [9],
    ),
    (
        MNIST,
        "full = tf.data.Dataset.from_tensor_slices((x_train / 255, y_train)).shuffle(2048).batch(32).prefetch(1)\n"
        "model.fit(full.take(1000), validation_data=full.skip(1000))\n",
        [9],
    ),
    (
        IMAGES,
        "ds = keras.utils.image_dataset_from_directory('photos')\n"
        "model.fit(ds.take(40), validation_data=ds.skip(40))\n",
        [9],
    ),
    (
        # A test set carved out of a reshuffling validation set: the two overlap.
        IMAGES,
        "train = keras.utils.image_dataset_from_directory('train')\n"
        "val = keras.utils.image_dataset_from_directory('validation')\n"
        "test, val = val.take(5), val.skip(5)\n"
        "model.fit(train, validation_data=val)\nmodel.evaluate(test)\n",
        [10, 10],
    ),
]
RESHUFFLED_NEAR_MISSES = [
    (
        MNIST,
        "ds = tf.data.Dataset.from_tensor_slices((x_train, y_train)).shuffle(60000, reshuffle_each_iteration=False)\n"
        "model.fit(ds.take(50000).batch(32), validation_data=ds.skip(50000).batch(32))\n",
    ),
    (
        MNIST,
        "ds = tf.data.Dataset.from_tensor_slices((x_train, y_train))\n"
        "model.fit(ds.take(50000).shuffle(50000).batch(32), validation_data=ds.skip(50000).batch(32))\n",
    ),
    (
        IMAGES,
        "ds = keras.utils.image_dataset_from_directory('photos', shuffle=False)\n"
        "model.fit(ds.take(40), validation_data=ds.skip(40))\n",
    ),
    (
        MNIST,
        "ds = tf.data.Dataset.from_tensor_slices((x_train, y_train)).shuffle(1000)\n"
        "test = tf.data.Dataset.from_tensor_slices((x_test, y_test)).batch(64)\n"
        "model.fit(ds.take(5000).batch(64), validation_data=test)\n",
    ),
    (
        MNIST,
        "ds = tf.data.Dataset.from_tensor_slices((x_train, y_train)).shuffle(1000).cache()\n"
        "model.fit(ds.take(5000), validation_data=ds.skip(5000))\n",
    ),
]

SCORED_ON_TRAINING = [
    (
        MNIST,
        "model.fit(x_train, y_train)\nprint(confusion_matrix(y_train, model.predict(x_train).argmax(axis=1)))\n",
        [9],
    ),
    (
        MNIST,
        "model.fit(x_train, y_train)\npredicted = np.argmax(model.predict(x_train), axis=1)\n"
        "print('accuracy', np.mean(predicted == y_train))\n",
        [10],
    ),
    (
        TABULAR,
        "X_train, X_test, y_train, y_test = train_test_split(X, y)\nmodel.fit(X_train, y_train)\n"
        "print(accuracy_score(y_train, model.predict(X_train) > 0.5))\n",
        [10],
    ),
    (
        MNIST,
        "model.fit(x_train, y_train)\np = model.predict(x_train[:100])\n"
        "acc = accuracy_score(y_train[:100], np.argmax(p, axis=1))\n",
        [10],
    ),
    (
        MNIST,
        "data = x_train\nmodel.fit(data, y_train)\n"
        "print(accuracy_score(y_train, np.round(model.predict(data)).argmax(1)))\n",
        [10],
    ),
]
SCORED_NEAR_MISSES = [
    (
        MNIST,
        "model.fit(x_train, y_train)\nprint(accuracy_score(y_test, np.argmax(model.predict(x_test), axis=1)))\n",
    ),
    (
        MNIST,
        "model.fit(x_train, y_train)\n"
        "train_acc = accuracy_score(y_train, np.argmax(model.predict(x_train), axis=1))\n"
        "test_acc = accuracy_score(y_test, np.argmax(model.predict(x_test), axis=1))\n",
    ),
    (
        MNIST,
        "model.fit(x_train, y_train)\n"
        "print('train accuracy', accuracy_score(y_train, np.argmax(model.predict(x_train), axis=1)))\n",
    ),
    (
        MNIST,
        "print(accuracy_score(y_train, np.argmax(model.predict(x_train), axis=1)))\nmodel.fit(x_train, y_train)\n",
    ),
    (
        MNIST,
        "model.fit(x_train, y_train)\nfitted = model.predict(x_train)\nplot(x_train, fitted)\n",
    ),
]

KC403_CASES = [
    *[
        pytest.param(h, s, e, id=f"evaluated-{i}")
        for i, (h, s, e) in enumerate(EVALUATED_ON_TRAINING)
    ],
    *[pytest.param(h, s, e, id=f"same-source-{i}") for i, (h, s, e) in enumerate(SAME_SOURCE)],
    *[pytest.param(h, s, e, id=f"augmented-{i}") for i, (h, s, e) in enumerate(AUGMENTED)],
    *[pytest.param(h, s, e, id=f"oversampled-{i}") for i, (h, s, e) in enumerate(OVERSAMPLED)],
    *[pytest.param(h, s, e, id=f"fitted-{i}") for i, (h, s, e) in enumerate(FITTED_BEFORE_SPLIT)],
    *[pytest.param(h, s, e, id=f"reshuffled-{i}") for i, (h, s, e) in enumerate(RESHUFFLED)],
    *[pytest.param(h, s, e, id=f"scored-{i}") for i, (h, s, e) in enumerate(SCORED_ON_TRAINING)],
]
KC403_NEAR_MISSES = [
    *[pytest.param(h, s, id=f"evaluated-{i}") for i, (h, s) in enumerate(EVALUATED_NEAR_MISSES)],
    *[
        pytest.param(h, s, id=f"same-source-{i}")
        for i, (h, s) in enumerate(SAME_SOURCE_NEAR_MISSES)
    ],
    *[pytest.param(h, s, id=f"augmented-{i}") for i, (h, s) in enumerate(AUGMENTED_NEAR_MISSES)],
    *[
        pytest.param(h, s, id=f"oversampled-{i}")
        for i, (h, s) in enumerate(OVERSAMPLED_NEAR_MISSES)
    ],
    *[pytest.param(h, s, id=f"fitted-{i}") for i, (h, s) in enumerate(FITTED_NEAR_MISSES)],
    *[pytest.param(h, s, id=f"reshuffled-{i}") for i, (h, s) in enumerate(RESHUFFLED_NEAR_MISSES)],
    *[pytest.param(h, s, id=f"scored-{i}") for i, (h, s) in enumerate(SCORED_NEAR_MISSES)],
]


@pytest.mark.parametrize(("header", "body", "expected"), KC403_CASES)
def test_kc403_flags_the_leak(header: str, body: str, expected: list[int]) -> None:
    assert lines("KC403", case(header, body)) == expected


@pytest.mark.parametrize(("header", "body"), KC403_NEAR_MISSES)
def test_kc403_near_miss_is_silent(header: str, body: str) -> None:
    assert lines("KC403", case(header, body)) == []


def test_every_kc403_pattern_has_five_of_each() -> None:
    for flagged, silent in (
        (EVALUATED_ON_TRAINING, EVALUATED_NEAR_MISSES),
        (SAME_SOURCE, SAME_SOURCE_NEAR_MISSES),
        (AUGMENTED, AUGMENTED_NEAR_MISSES),
        (OVERSAMPLED, OVERSAMPLED_NEAR_MISSES),
        (FITTED_BEFORE_SPLIT, FITTED_NEAR_MISSES),
        (RESHUFFLED, RESHUFFLED_NEAR_MISSES),
        (SCORED_ON_TRAINING, SCORED_NEAR_MISSES),
    ):
        assert len(flagged) >= 5 and len(silent) >= 5


# --------------------------------------------------------------------------- KC105
KERAS = "import numpy as np\nimport keras\n"  # 2 lines

LOGITS = [
    "model = keras.Sequential([keras.layers.Dense(1)])\n"
    "model.compile(loss=keras.losses.BinaryCrossentropy(from_logits=True), metrics=['acc'])\n",
    "model = keras.Sequential([keras.layers.Dense(1)])\n"
    "model.compile(loss=keras.losses.BinaryCrossentropy(from_logits=True), metrics=['binary_accuracy'])\n",
    "model = keras.Sequential([keras.layers.Dense(1, activation=None)])\n"
    "model.compile(loss=keras.losses.BinaryCrossentropy(True), metrics=[keras.metrics.BinaryAccuracy(threshold=0.5)])\n",
    "inp = keras.Input((4,))\nmodel = keras.Model(inp, keras.layers.Dense(1)(inp))\n"
    "model.compile(loss=keras.losses.BinaryFocalCrossentropy(from_logits=True), metrics=['accuracy'])\n",
    "model = keras.Sequential([keras.layers.Dense(8), keras.layers.Dense(1, activation='linear')])\n"
    "model.compile(optimizer='adam', loss=keras.losses.BinaryCrossentropy(from_logits=True), metrics=['accuracy'])\n",
]
LOGITS_NEAR_MISSES = [
    "model = keras.Sequential([keras.layers.Dense(1)])\n"
    "model.compile(loss=keras.losses.BinaryCrossentropy(from_logits=True), metrics=[keras.metrics.BinaryAccuracy(threshold=0.0)])\n",
    "model = keras.Sequential([keras.layers.Dense(1, activation='sigmoid')])\n"
    "model.compile(loss=keras.losses.BinaryCrossentropy(), metrics=['accuracy'])\n",
    "model = keras.Sequential([keras.layers.Dense(3)])\n"
    "model.compile(loss=keras.losses.CategoricalCrossentropy(from_logits=True), metrics=['accuracy'])\n",
    "model = keras.Sequential([keras.layers.Dense(1, activation='sigmoid')])\n"
    "model.compile(loss=keras.losses.BinaryCrossentropy(from_logits=True), metrics=['accuracy'])\n",
    "from blocks import head\nmodel = keras.Sequential([head()])\n"
    "model.compile(loss=keras.losses.BinaryCrossentropy(from_logits=True), metrics=['accuracy'])\n",
]
EXACT_MATCH = [
    "model = keras.Sequential([keras.layers.Dense(10, activation='softmax')])\n"
    "model.compile(loss='categorical_crossentropy', metrics=[keras.metrics.Accuracy()])\n",
    "model = keras.Sequential([keras.layers.Dense(1, activation='sigmoid')])\n"
    "model.compile(loss='binary_crossentropy', metrics=[keras.metrics.Accuracy])\n",
    "model = keras.Sequential([keras.layers.Dense(1)])\nmodel.compile(loss='mse', metrics=[keras.metrics.Accuracy()])\n",
    "from tensorflow import keras as tk\nmodel = tk.Sequential([tk.layers.Dense(1, activation='sigmoid')])\n"
    "model.compile(loss='binary_crossentropy', metrics=[tk.metrics.Accuracy(name='acc')])\n",
    "model = keras.Sequential([keras.layers.Dense(4, activation='softmax')])\n"
    "model.compile(loss='sparse_categorical_crossentropy', metrics=['mae', keras.metrics.Accuracy()])\n",
]
EXACT_MATCH_NEAR_MISSES = [
    "model = keras.Sequential([keras.layers.Dense(1, activation='sigmoid')])\n"
    "model.compile(loss='binary_crossentropy', metrics=['Accuracy'])\n",
    "model = keras.Sequential([keras.layers.Dense(1, activation='sigmoid')])\n"
    "model.compile(loss='binary_crossentropy', metrics=[keras.metrics.BinaryAccuracy()])\n",
    "model = keras.Sequential([keras.layers.Dense(10, activation='softmax')])\n"
    "model.compile(loss='categorical_crossentropy', metrics=[keras.metrics.CategoricalAccuracy()])\n",
    "from blocks import head\nmodel = keras.Sequential([head()])\n"
    "model.compile(loss='mse', metrics=[keras.metrics.Accuracy()])\n",
    "model = keras.Sequential([keras.layers.Dense(10, activation='softmax')])\n"
    "model.compile(loss='categorical_crossentropy', metrics=['accuracy'])\n",
]
PLUS_MINUS_ONE = [
    "y = np.where(labels > 0, 1, -1)\nmodel = keras.Sequential([keras.layers.Dense(1, activation='tanh')])\n"
    "model.compile(loss='squared_hinge', metrics=['accuracy'])\nmodel.fit(x, y)\n",
    "y = np.where(labels > 0, 1, 0) * 2 - 1\nmodel = keras.Sequential([keras.layers.Dense(1)])\n"
    "model.compile(loss='hinge', metrics=['acc'])\nmodel.fit(x, y)\n",
    "y = np.where(labels == 'spam', 1, -1)\nmodel = keras.Sequential([keras.layers.Dense(1)])\n"
    "model.compile(loss='hinge', metrics=['binary_accuracy'])\nmodel.evaluate(x, y)\n",
    "critic = keras.Sequential([keras.layers.Dense(1)])\n"
    "critic.compile(loss=lambda t, p: keras.ops.mean(t * p), metrics=['accuracy'])\n"
    "critic.train_on_batch(fake_images, np.ones((32, 1)))\ncritic.train_on_batch(real_images, -np.ones((32, 1)))\n",
    "y = np.where(labels > 0, 1, -1)\nmodel = keras.Sequential([keras.layers.Dense(1)])\n"
    "model.compile(loss='mse', metrics=['accuracy'])\nmodel.fit(x, y, validation_data=(x_val, y_val))\n",
]
PLUS_MINUS_ONE_NEAR_MISSES = [
    "y = np.where(labels > 0, 1, 0)\nmodel = keras.Sequential([keras.layers.Dense(1)])\n"
    "model.compile(loss='hinge', metrics=['accuracy'])\nmodel.fit(x, y)\n",
    "y = np.where(labels > 0, 1, -1)\nmodel = keras.Sequential([keras.layers.Dense(1, activation='sigmoid')])\n"
    "model.compile(loss='binary_crossentropy', metrics=['accuracy'])\nmodel.fit(x, y)\n",
    "y = np.where(labels > 0, 1, -1)\nmodel = keras.Sequential([keras.layers.Dense(1)])\n"
    "model.compile(loss='hinge', metrics=[sign_accuracy])\nmodel.fit(x, y)\n",
    "from data import load_pm_labels\ny = load_pm_labels()\nmodel = keras.Sequential([keras.layers.Dense(1)])\n"
    "model.compile(loss='hinge', metrics=['accuracy'])\nmodel.fit(x, y)\n",
    "y = np.where(labels > 0, 1, -1)\nmodel = keras.Sequential([keras.layers.Dense(1)])\n"
    "model.compile(loss='hinge', metrics=['accuracy'])\nmodel.fit(x, (y + 1) / 2)\n",
]


def _kc105(body: str) -> list[int]:
    return lines("KC105", KERAS + body)


@pytest.mark.parametrize(
    "body",
    [pytest.param(b, id=f"logits-{i}") for i, b in enumerate(LOGITS)]
    + [pytest.param(b, id=f"exact-{i}") for i, b in enumerate(EXACT_MATCH)]
    + [pytest.param(b, id=f"plus-minus-{i}") for i, b in enumerate(PLUS_MINUS_ONE)],
)
def test_kc105_flags_the_metric_on_its_compile_line(body: str) -> None:
    compile_line = next(i for i, line in enumerate(body.splitlines(), 3) if ".compile(" in line)
    assert _kc105(body) == [compile_line]


@pytest.mark.parametrize(
    "body",
    [pytest.param(b, id=f"logits-{i}") for i, b in enumerate(LOGITS_NEAR_MISSES)]
    + [pytest.param(b, id=f"exact-{i}") for i, b in enumerate(EXACT_MATCH_NEAR_MISSES)]
    + [pytest.param(b, id=f"plus-minus-{i}") for i, b in enumerate(PLUS_MINUS_ONE_NEAR_MISSES)],
)
def test_kc105_near_miss_is_silent(body: str) -> None:
    assert _kc105(body) == []


def test_kc403_says_what_a_reshuffled_split_does() -> None:
    """Training on one part: the model trains on held-out samples; two held-out parts of a
    reshuffled set: they overlap."""
    trained_on = case(
        MNIST,
        "ds = tf.data.Dataset.from_tensor_slices((x_train, y_train)).shuffle(10000)\n"
        "test = ds.take(1000)\nval = ds.skip(1000).take(1000)\ntrain = ds.skip(2000)\n"
        "model.fit(train.batch(32), validation_data=val.batch(32))\nmodel.evaluate(test.batch(32))\n",
    )
    overlapping = case(
        IMAGES,
        "train = keras.utils.image_dataset_from_directory('train')\n"
        "val = keras.utils.image_dataset_from_directory('validation')\n"
        "test, val = val.take(5), val.skip(5)\n"
        "model.fit(train, validation_data=val)\nmodel.evaluate(test)\n",
    )
    for source, consequence, count in (
        (trained_on, "the model trains on samples it is then validated or tested on", 2),
        (overlapping, "the held-out parts overlap one another", 2),
    ):
        result = lint_source(source, "example.py", Options(select=("KC403",)))
        messages = [f.message for f in result.findings]
        assert len(messages) == count and all(consequence in m for m in messages), messages


def test_nothing_after_an_unconditional_exit_is_judged() -> None:
    """A module-level sys.exit() ends the program: the evaluation after it never runs."""
    source = case(
        MNIST,
        "import sys\nmodel.fit(x_train, y_train)\nsys.exit(1)\nmodel.evaluate(x_train, y_train)\n",
    )
    assert lines("KC403", source) == []
    guarded = case(
        MNIST,
        "import sys\nmodel.fit(x_train, y_train)\nif failed:\n    sys.exit(1)\nmodel.evaluate(x_train, y_train)\n",
    )
    assert lines("KC403", guarded) == [12]


def test_an_exit_whose_import_is_missing_ends_the_program_too() -> None:
    source = case(
        MNIST, "model.fit(x_train, y_train)\nsys.exit(1)\nmodel.evaluate(x_train, y_train)\n"
    )
    assert lines("KC403", source) == []
