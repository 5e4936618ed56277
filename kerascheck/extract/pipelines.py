"""The data pipeline: generators, datasets, preprocessors and the identity of arrays.

What reaches ``fit()`` / ``evaluate()`` / ``predict()`` is often not an array but a
pipeline: an ``ImageDataGenerator`` flow, ``image_dataset_from_directory``, a ``tf.data``
chain. This module follows them (``kerascheck.extract.dataflow`` follows the arrays) and
gives every value the facts the data rules need (docs/architecture.md, "Data facts"):

- the facts of a pipeline's inputs (scale) and labels (the encoding its ``class_mode`` /
  ``label_mode`` gives, measured on Keras 3.15, docs/knowledge.md), whether it shuffles
  (explicitly or by default), augments, and what it reads (a directory, a dataframe, arrays);
- the *lineage* of every array: which samples it holds, decided by value flow
  (``x_test = x_train`` and ``x_train.copy()`` are the training samples; a split part, a
  row range or the result of an unknown function is not);
- the order rows come in (a reshuffling generator gives each pass its own order; ``.classes``
  is in file order), predictions and what they are compared with (``ModuleSpec.scores``);
- which rows a scaler, imputer or tokenizer was fitted on, oversampling with replacement,
  and the vocabulary bound of token ids (``Tokenizer(num_words=...)``, ``len(word_index)``).

Each operation keeps only the facts it provably preserves; anything else leaves UNKNOWN (or
no lineage) and the rules stay silent. The extractor calls in here only for data calls, so
the cost is proportional to the data calls that exist.
"""

from __future__ import annotations

import math
import operator
import posixpath
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import libcst as cst

from kerascheck.extract import backbones, dataflow
from kerascheck.extract.values import (
    Data,
    Flow,
    Instance,
    LayerObject,
    Method,
    Ref,
    Seq,
    Size,
    Tensor,
    Value,
    Vocabulary,
)
from kerascheck.ir import (
    UNKNOWN,
    Call,
    Count,
    DataInfo,
    Known,
    LayerSpec,
    Lineage,
    Pipeline,
    Prediction,
    Preprocessing,
    RunSpec,
    Score,
    Span,
)
from kerascheck.knowledge import Knowledge

# Applies a function value (a ``def``, a ``lambda``, a layer) to arguments: the extractor's.
Apply = Callable[[Value, list[Value]], Value]

_IMAGE_GENERATOR = "keras.preprocessing.image.ImageDataGenerator"
# Values nothing was done to since they were read or split (their scale is the source's).
_UNTOUCHED = Known("untouched")
# ImageDataGenerator arguments that augment (a non-zero value turns them on).
_AUGMENTING = (
    "rotation_range",
    "width_shift_range",
    "height_shift_range",
    "brightness_range",
    "shear_range",
    "zoom_range",
    "channel_shift_range",
    "horizontal_flip",
    "vertical_flip",
)
# Values that leave an augmentation off.
_OFF = (0, 0.0, False, None)
# ImageDataGenerator arguments that standardise with statistics of their own.
_STANDARDISING = (
    "featurewise_center",
    "samplewise_center",
    "featurewise_std_normalization",
    "samplewise_std_normalization",
    "zca_whitening",
)
# Positions of the arguments read here (Keras 3.15 keras.src.legacy.preprocessing.image).
_FLOW_ARGS = {"shuffle": 3, "subset": 10}
_DIRECTORY_ARGS = {"classes": 3, "class_mode": 4, "shuffle": 6, "subset": 12}
_DATAFRAME_ARGS = {"classes": 7, "class_mode": 8, "shuffle": 10, "subset": 15}
_DATASET_ARGS = {"labels": 1, "label_mode": 2, "class_names": 3}
_DATASET_SHUFFLE = {"image": 7, "text": 6}  # positions of shuffle=, seed= follows it
_DATASET_SOURCES = {
    "keras.utils.image_dataset_from_directory": "image",
    "keras.preprocessing.image_dataset_from_directory": "image",
    "keras.utils.text_dataset_from_directory": "text",
    "keras.preprocessing.text_dataset_from_directory": "text",
}
# What each class_mode / label_mode gives (measured, docs/knowledge.md); "input" gives the
# images themselves, None no labels.
_CLASS_MODES = {"categorical": "onehot", "binary": "binary", "sparse": "integer"}
_LABEL_MODES = {"int": "integer", "categorical": "onehot", "binary": "binary"}
_SLICES = "tensorflow.data.Dataset.from_tensor_slices"
# tf.data methods that keep the samples, their order and their facts.
_DATASET_KEEP = frozenset(
    {"batch", "prefetch", "repeat", "unbatch", "padded_batch", "with_options", "rebatch"}
)
_READERS = frozenset(
    {
        "pandas.read_csv",
        "pandas.read_table",
        "pandas.read_excel",
        "pandas.read_json",
        "pandas.read_parquet",
        "pandas.read_pickle",
        "pandas.read_feather",
        "numpy.load",
        "numpy.loadtxt",
        "numpy.genfromtxt",
    }
)
# Calls that return their first argument's rows in the same order (so its lineage), with
# the facts dataflow gives them.
_ROW_PRESERVING = frozenset(
    {
        "keras.utils.to_categorical",
        "keras.utils.np_utils.to_categorical",
        "numpy.argmax",
        "numpy.round",
        "numpy.rint",
        "numpy.around",
        "numpy.squeeze",
        "numpy.ravel",
        "numpy.array",
        "numpy.asarray",
        "numpy.expand_dims",
        "numpy.reshape",
        "tensorflow.cast",
        "tensorflow.convert_to_tensor",
        "keras.ops.convert_to_tensor",
        "keras.ops.cast",
    }
)
_ONE_HOT = {"tensorflow.one_hot": ("depth", 1), "keras.ops.one_hot": ("num_classes", 1)}
# Preprocessors fitted on data whose statistics or vocabulary a test set must not shape.
_FITTED = frozenset(
    {
        "sklearn.preprocessing.StandardScaler",
        "sklearn.preprocessing.MinMaxScaler",
        "sklearn.preprocessing.RobustScaler",
        "sklearn.preprocessing.MaxAbsScaler",
        "sklearn.preprocessing.QuantileTransformer",
        "sklearn.preprocessing.PowerTransformer",
        "sklearn.impute.SimpleImputer",
        "sklearn.impute.KNNImputer",
        "sklearn.impute.IterativeImputer",
        "sklearn.decomposition.PCA",
    }
)
_SCALES = {
    "sklearn.preprocessing.StandardScaler": "standardized",
    "sklearn.preprocessing.RobustScaler": "standardized",
    "sklearn.preprocessing.MinMaxScaler": "unit",
    "sklearn.preprocessing.MaxAbsScaler": "unit",
}
# Encoders of class ids whose output keeps the class count (dataflow gives LabelEncoder's).
_CLASS_ENCODERS = frozenset(
    {"sklearn.preprocessing.OneHotEncoder", "sklearn.preprocessing.LabelBinarizer"}
)
_TOKENIZERS = frozenset(
    {"keras.preprocessing.text.Tokenizer", "keras.legacy.preprocessing.text.Tokenizer"}
)
_PAD = frozenset({"keras.preprocessing.sequence.pad_sequences", "keras.utils.pad_sequences"})
_TEXT_DATASETS = {"imdb", "reuters"}
# Samplers that repeat rows (with replacement) or synthesise near-copies of them.
_OVERSAMPLERS = frozenset(
    {
        "imblearn.over_sampling.RandomOverSampler",
        "imblearn.over_sampling.SMOTE",
        "imblearn.over_sampling.ADASYN",
        "imblearn.over_sampling.BorderlineSMOTE",
        "imblearn.over_sampling.SVMSMOTE",
        "imblearn.over_sampling.KMeansSMOTE",
        "imblearn.over_sampling.SMOTENC",
        "imblearn.over_sampling.SMOTEN",
        "imblearn.combine.SMOTEENN",
        "imblearn.combine.SMOTETomek",
    }
)
# Functions that score predictions against labels (``f(y_true, y_pred)``).
_SCORERS = frozenset(
    {
        "sklearn.metrics.accuracy_score",
        "sklearn.metrics.balanced_accuracy_score",
        "sklearn.metrics.confusion_matrix",
        "sklearn.metrics.classification_report",
        "sklearn.metrics.f1_score",
        "sklearn.metrics.precision_score",
        "sklearn.metrics.recall_score",
        "sklearn.metrics.precision_recall_fscore_support",
        "sklearn.metrics.roc_auc_score",
        "sklearn.metrics.cohen_kappa_score",
        "sklearn.metrics.matthews_corrcoef",
        "sklearn.metrics.multilabel_confusion_matrix",
        "sklearn.metrics.ConfusionMatrixDisplay.from_predictions",
        "tensorflow.math.confusion_matrix",
    }
)
_ONE_255 = 1 / 255
_ONE_127 = 1 / 127.5


def _fresh(what: str, span: Span | None, parent: Lineage | None = None, **kw: Any) -> Lineage:
    return Lineage(object(), what, span, parent, **kw)


def _number(value: Value | None) -> float | None:
    if isinstance(value, Known) and isinstance(value.value, (int, float)):
        return None if isinstance(value.value, bool) else float(value.value)
    return None


def _is(value: Value | None, target: float) -> bool:
    number = _number(value)
    return number is not None and math.isclose(number, target, rel_tol=1e-6)


def _arg(
    positional: list[Value], keywords: dict[str, Value], name: str, index: int | None
) -> Value | None:
    if name in keywords:
        return keywords[name]
    if index is not None and index < len(positional):
        return positional[index]
    return None


def _info(value: Value | None) -> DataInfo:
    return value.info if isinstance(value, Data) else DataInfo()


def _path(value: Value | None) -> Value:
    """A directory written as a known string, normalised (``data/train/`` is ``data/train``)."""
    if isinstance(value, Known) and isinstance(value.value, str) and value.value:
        return Known(posixpath.normpath(value.value.replace("\\", "/")))
    return UNKNOWN


def _words(value: Value | None) -> str:
    if isinstance(value, Known):
        return repr(value.value)
    return "..."


@dataclass(frozen=True)
class _Generator:
    """What an ImageDataGenerator does to the images it yields."""

    rescale: Value  # Known(None): does not rescale
    standardises: Value  # Known(bool): featurewise/samplewise centring, ZCA
    preprocess: Value  # Known(None), Known(scale of a keras.applications preprocess_input)
    augments: Value
    augment_span: Span | None
    validation_split: Value


@dataclass(frozen=True)
class _Fitted:
    """A preprocessor and the rows it was fitted on (None: not fitted, or rows unknown)."""

    fitted_on: Lineage | None = None
    span: Span | None = None
    fitted: bool = False


@dataclass(frozen=True)
class _Tokenizer:
    base: object
    num_words: Value  # Known(None) when not given
    fitted: _Fitted = _Fitted()


class Pipelines:
    """The data pipeline half of the extractor: one per module, holding the scores found."""

    def __init__(self, knowledge: Knowledge, apply: Apply) -> None:
        self.k = knowledge
        self.apply = apply
        self.scores: list[Score] = []
        self.stopped = False  # the program has exited: later scores never happen

    # ------------------------------------------------------------------ calls
    def call(
        self,
        ref: Ref,
        positional: list[Value],
        keywords: dict[str, Value],
        call: Call,
        named: Callable[[], str],
    ) -> Value | None:
        """The value a data call returns, or None when it is not one this module follows
        (dataflow's calls are delegated to it, with lineage added)."""
        qualname = ref.qualname
        if qualname.startswith("keras.datasets.") and qualname.endswith(".load_data"):
            return self._load_data(qualname, positional, keywords, call)
        if qualname == _IMAGE_GENERATOR:
            return self._image_generator(keywords, call)
        if qualname in _DATASET_SOURCES:
            return self._directory_dataset(_DATASET_SOURCES[qualname], positional, keywords, call)
        if qualname == _SLICES:
            return self._from_slices(positional, keywords, call)
        if qualname in _READERS:
            what = f"{qualname.rsplit('.', 1)[1]}(...)"
            lineage = _fresh(what, call.span)
            return Data(DataInfo(scaled=_UNTOUCHED, lineage=lineage, span=call.span))
        if qualname == "os.path.join":
            parts = [p.value for p in positional if isinstance(p, Known)]
            if parts and len(parts) == len(positional) and all(isinstance(p, str) for p in parts):
                return Known(posixpath.join(*parts))
            return None
        if qualname in ("pathlib.Path", "pathlib.PurePath") and len(positional) == 1:
            return positional[0] if isinstance(positional[0], Known) else None
        if qualname == "sklearn.model_selection.train_test_split":
            return self._split(positional, keywords, call)
        if qualname in ("sklearn.utils.resample", "sklearn.utils.shuffle"):
            return self._resample(qualname, positional, keywords, call)
        if qualname in _FITTED or qualname in _OVERSAMPLERS:
            # dataflow's scaler knows the range its transform gives (MinMaxScaler).
            made = dataflow.data_from_call(qualname, positional, keywords, call, self.k)
            scale = made.value_range if isinstance(made, Instance) else UNKNOWN
            return Instance(qualname, value_range=scale, state=_Fitted())
        if qualname in _CLASS_ENCODERS:
            return Instance(qualname)
        if qualname in _TOKENIZERS:
            num_words = _arg(positional, keywords, "num_words", 0)
            return Instance(qualname, state=_Tokenizer(object(), num_words or Known(None)))
        if qualname in _PAD and positional and isinstance(positional[0], Data):
            info = positional[0].info
            return Data(
                DataInfo(
                    lineage=info.lineage,
                    ids_below=info.ids_below,
                    preprocessing=info.preprocessing,
                    span=call.span,
                )
            )
        if qualname in _SCORERS:
            self._score(qualname.rsplit(".", 1)[1], positional, keywords, call.span, named)
            return UNKNOWN
        module = backbones.preprocess_module(ref, keywords, self.k)
        if module is not None and positional and not isinstance(positional[0], Tensor):
            # On arrays; on a graph's tensors it is a pixel operation (backbones).
            info = _info(positional[0])
            made = backbones.preprocess(module, positional, call)
            scaled = made.info.scaled if isinstance(made, Data) else UNKNOWN
            return Data(DataInfo(scaled=scaled, lineage=info.lineage, span=call.span))
        if qualname in _ONE_HOT:
            return self._one_hot(qualname, positional, keywords, call)
        if qualname == "pandas.get_dummies" and positional:
            info = _info(positional[0])
            classes = info.num_classes if info.encoding == Known("integer") else UNKNOWN
            return Data(
                DataInfo(
                    encoding=Known("onehot"),
                    num_classes=classes,
                    lineage=info.lineage,
                    origin="pd.get_dummies",
                    span=call.span,
                )
            )
        if qualname in ("numpy.concatenate", "tensorflow.concat", "numpy.vstack") and positional:
            # The batches collected from a dataset (``[y for x, y in ds]``) joined into one
            # array; they alone come here as one value with a known order.
            collected = positional[0]
            if isinstance(collected, Data) and isinstance(collected.info.order, Known):
                return collected
        flowed = dataflow.data_from_call(qualname, positional, keywords, call, self.k)
        if qualname == "numpy.ones" and isinstance(flowed, Data):
            return Data(replace(flowed.info, origin="numpy.ones"))
        if (
            qualname in _ROW_PRESERVING
            and isinstance(flowed, Data)
            and positional
            and isinstance(positional[0], Data)
        ):
            source = positional[0].info
            kept = dict(lineage=source.lineage, order=source.order, prediction=source.prediction)
            if flowed.info.encoding == Known("onehot") and flowed.info.origin is None:
                kept["origin"] = "to_categorical"
            return Data(replace(flowed.info, **kept))
        if qualname in _ROW_PRESERVING or qualname == "numpy.where":
            # argmax of predictions, or a threshold, keeps their rows, order and what they are.
            source = _info(positional[0]) if positional else DataInfo()
            if source.prediction is not None:
                return Data(_predicted(source))
        return flowed

    def _load_data(
        self, qualname: str, positional: list[Value], keywords: dict[str, Value], call: Call
    ) -> Value:
        """A keras.datasets loader: each split its own samples; the text data sets' ids stay
        below ``num_words`` when it is given (documented in keras.datasets.imdb)."""
        flowed = dataflow.data_from_call(qualname, positional, keywords, call, self.k)
        name = qualname.split(".")[2]
        if not isinstance(flowed, Seq):
            return flowed if flowed is not None else UNKNOWN
        num_words = _arg(positional, keywords, "num_words", 1)
        ids: Count | None = None
        if name in _TEXT_DATASETS and isinstance(num_words, Known):
            words = num_words.value
            if isinstance(words, int) and not isinstance(words, bool) and words > 0:
                ids = Count(words, what=f"{name}.load_data(num_words={words})")
        splits: list[Value] = []
        for split, part in zip(("training", "test"), flowed.items, strict=False):
            if not isinstance(part, Seq):
                splits.append(part)
                continue
            lineage = _fresh(f"the {split} split of {name}.load_data()", call.span)
            items = []
            for index, item in enumerate(part.items):
                if isinstance(item, Data):
                    extra: dict[str, Any] = {"lineage": lineage}
                    if index == 0 and ids is not None:
                        extra["ids_below"] = ids
                    item = Data(replace(item.info, **extra))
                items.append(item)
            splits.append(Seq(tuple(items), part.is_tuple))
        return Seq(tuple(splits), flowed.is_tuple)

    # ------------------------------------------------------------------ generators
    def _image_generator(self, keywords: dict[str, Value], call: Call) -> Value:
        if call.has_star_args:
            return Instance(_IMAGE_GENERATOR)
        # One transformation known to be on augments, whatever the others are.
        given = [(name, keywords[name]) for name in _AUGMENTING if name in keywords]
        on = [name for name, v in given if isinstance(v, Known) and v.value not in _OFF]
        augment_span = call.kwarg(on[0]).span if on else None  # type: ignore[union-attr]
        augments: Value = Known(bool(on))
        if not on and any(not isinstance(v, Known) for _, v in given):
            augments = UNKNOWN
        standardises: Value = Known(False)
        for name in _STANDARDISING:
            value = keywords.get(name)
            if value is not None and value != Known(False):
                standardises = Known(True) if isinstance(value, Known) else UNKNOWN
        preprocess: Value = Known(None)
        function = keywords.get("preprocessing_function")
        if function is not None and function != Known(None):
            module = backbones.preprocess_module(function, None, self.k)
            preprocess = Known(f"preprocess_input:{module}") if module is not None else UNKNOWN
        rescale = keywords.get("rescale", Known(None))
        state = _Generator(
            rescale=rescale if rescale != Known(0) else Known(None),
            standardises=standardises,
            preprocess=preprocess,
            augments=augments,
            augment_span=augment_span,
            validation_split=keywords.get("validation_split", Known(0.0)),
        )
        return Instance(_IMAGE_GENERATOR, state=state)

    def _generator_scale(self, config: _Generator, source: Value) -> Value:
        """The scale of what a generator yields from a source of this scale."""
        if config.standardises != Known(False):
            return UNKNOWN
        rescales = _is(config.rescale, _ONE_255)
        if source in (UNKNOWN, _UNTOUCHED) and (rescales or config.preprocess != Known(None)):
            # A generator that rescales by 1/255 or applies a preprocess_input says that
            # the arrays it is given (of a scale not known, or as loaded) are 0-255 pixels.
            source = Known("raw_0_255")
        scaled = source
        if config.preprocess != Known(None):
            # preprocessing_function runs after the random transforms, before rescale.
            if not isinstance(config.preprocess, Known) or source != Known("raw_0_255"):
                return UNKNOWN
            scaled = config.preprocess
        if config.rescale == Known(None):
            return scaled
        if rescales and scaled == Known("raw_0_255"):
            return Known("unit")
        return UNKNOWN

    def _flow(
        self,
        config: Any,
        name: str,
        positional: list[Value],
        keywords: dict[str, Value],
        call: Call,
    ) -> Value:
        """``flow`` / ``flow_from_directory`` / ``flow_from_dataframe`` of a generator."""
        if not isinstance(config, _Generator) or call.has_star_args:
            return UNKNOWN
        if name == "flow":
            table = _FLOW_ARGS
            x = _info(_arg(positional, keywords, "x", 0))
            source_scale = x.scaled
            y_value = _arg(positional, keywords, "y", 1)
            y = _info(y_value) if y_value is not None and y_value != Known(None) else None
            reads: Value = UNKNOWN
            base = x.lineage
        else:
            table = _DIRECTORY_ARGS if name == "flow_from_directory" else _DATAFRAME_ARGS
            source_scale = Known("raw_0_255")
            mode = _arg(positional, keywords, "class_mode", table["class_mode"])
            mode = Known("categorical") if mode is None else mode
            classes = _arg(positional, keywords, "classes", table["classes"])
            count = (
                Known(len(classes.value))
                if isinstance(classes, Known)
                and isinstance(classes.value, (list, tuple))
                and classes.value
                else UNKNOWN
            )
            y = _labels(mode, _CLASS_MODES, count, name, "class_mode", "categorical")
            base = None
            if name == "flow_from_directory":
                reads = _path(_arg(positional, keywords, "directory", 0))
            else:
                reads = UNKNOWN
                base = _info(_arg(positional, keywords, "dataframe", 0)).lineage
            x = DataInfo()
        subset = _arg(positional, keywords, "subset", table["subset"])
        subset = Known(None) if subset is None else subset
        shuffle_value = _arg(positional, keywords, "shuffle", table["shuffle"])
        shuffles = Known(True) if shuffle_value is None else _bool(shuffle_value)
        pipeline = Pipeline(
            made_by=name,
            span=call.span,
            call=call,
            shuffles=shuffles,
            shuffle_default=shuffle_value is None,
            augments=config.augments,
            augment_span=config.augment_span,
            reads=reads,
            subset=subset,
        )
        lineage = _source_lineage(name, reads, base, subset, config.validation_split, call.span)
        x_info = replace(
            x,
            dataset=Known("ImageDataGenerator"),
            scaled=self._generator_scale(config, source_scale),
            lineage=lineage,
            span=call.span,
            encoding=UNKNOWN,
            num_classes=UNKNOWN,
            ids_below=None,
        )
        if y is not None:
            if y == _INPUT:
                y = replace(x_info, encoding=Known("continuous"))
            y = replace(y, lineage=lineage, span=call.span)
        order = Known(("files", lineage.key)) if lineage is not None else UNKNOWN
        return Flow(pipeline, x_info, y, order if shuffles == Known(False) else UNKNOWN)

    def _directory_dataset(
        self, kind: str, positional: list[Value], keywords: dict[str, Value], call: Call
    ) -> Value:
        if call.has_star_args:
            return UNKNOWN
        name = f"{kind}_dataset_from_directory"
        labels = _arg(positional, keywords, "labels", _DATASET_ARGS["labels"])
        mode = _arg(positional, keywords, "label_mode", _DATASET_ARGS["label_mode"])
        mode = Known("int") if mode is None else mode
        names = _arg(positional, keywords, "class_names", _DATASET_ARGS["class_names"])
        count = (
            Known(len(names.value))
            if isinstance(names, Known) and isinstance(names.value, (list, tuple)) and names.value
            else UNKNOWN
        )
        y: DataInfo | None
        if labels == Known(None):
            y = None
        elif labels is None or labels == Known("inferred"):
            y = _labels(mode, _LABEL_MODES, count, name, "label_mode", "int")
        else:
            y = DataInfo()  # labels given as a list: the encoding is theirs
        shuffle_at = _DATASET_SHUFFLE[kind]
        shuffle_value = _arg(positional, keywords, "shuffle", shuffle_at)
        shuffles = Known(True) if shuffle_value is None else _bool(shuffle_value)
        seed = _arg(positional, keywords, "seed", shuffle_at + 1)
        split = _arg(positional, keywords, "validation_split", shuffle_at + 2)
        subset = _arg(positional, keywords, "subset", shuffle_at + 3)
        subset = Known(None) if subset is None else subset
        reads = _path(_arg(positional, keywords, "directory", 0))
        seed = Known(None) if seed is None else seed

        def one(part: Value) -> Flow:
            pipeline = Pipeline(
                made_by=name,
                span=call.span,
                call=call,
                shuffles=shuffles,
                shuffle_default=shuffle_value is None,
                augments=Known(False),
                reads=reads,
                subset=part,
                seed=seed,
            )
            lineage = _source_lineage(
                name, reads, None, part, split or Known(None), call.span, seed
            )
            scaled = Known("raw_0_255") if kind == "image" else UNKNOWN
            dataset = Known(name) if kind == "image" else UNKNOWN
            x = DataInfo(dataset=dataset, scaled=scaled, lineage=lineage, span=call.span)
            labels_info = replace(y, lineage=lineage, span=call.span) if y is not None else None
            order = Known(("files", lineage.key)) if lineage is not None else UNKNOWN
            return Flow(pipeline, x, labels_info, order if shuffles == Known(False) else UNKNOWN)

        if subset == Known("both"):
            return Seq((one(Known("training")), one(Known("validation"))), True)
        return one(subset)

    def _from_slices(
        self, positional: list[Value], keywords: dict[str, Value], call: Call
    ) -> Value:
        tensors = _arg(positional, keywords, "tensors", 0)
        if isinstance(tensors, Seq) and tensors.is_tuple and len(tensors.items) == 2:
            x, y = _info(tensors.items[0]), _info(tensors.items[1])
        elif isinstance(tensors, Data):
            x, y = tensors.info, None
        else:
            x, y = DataInfo(), DataInfo()
        lineage = x.lineage or (y.lineage if y is not None else None)
        if lineage is None:
            lineage = _fresh("the elements of the dataset", call.span)
        pipeline = Pipeline(
            "tf.data", call.span, call, shuffles=Known(False), augments=Known(False)
        )
        order = Known(("rows", lineage.key))
        x = replace(x, lineage=lineage)
        y = replace(y, lineage=lineage) if y is not None else None
        return Flow(pipeline, x, y, order)

    # ------------------------------------------------------------------ methods
    def method(
        self,
        method: Method,
        positional: list[Value],
        keywords: dict[str, Value],
        call: Call,
    ) -> tuple[Value, Instance | None]:
        """A method call on a modelled value: what it returns and, when it changes the
        object it is called on (``scaler.fit``), the object that replaces it."""
        receiver, name = method.receiver, method.name
        if isinstance(receiver, LayerObject):
            self._adapted(receiver, positional, keywords)
            return Known(None), None
        if isinstance(receiver, Flow):
            return self._dataset_method(receiver, name, positional, keywords, call), None
        if isinstance(receiver, Instance):
            state = receiver.state
            if receiver.qualname == _IMAGE_GENERATOR:
                if name in ("flow", "flow_from_directory", "flow_from_dataframe"):
                    return self._flow(state, name, positional, keywords, call), None
                return UNKNOWN, None
            if isinstance(state, _Tokenizer):
                return self._tokenizer_method(receiver, state, name, positional, call)
            if receiver.qualname in _OVERSAMPLERS:
                if name in ("fit_resample", "fit_sample"):
                    return self._oversampled(receiver.qualname, positional, call), None
                return UNKNOWN, None
            if isinstance(state, _Fitted):
                return self._fitted_method(receiver, state, name, positional, call)
            if receiver.qualname in _CLASS_ENCODERS and name in ("fit_transform", "transform"):
                return self._encoded(receiver.qualname, positional), None
        if isinstance(receiver, Data):
            return self._array_method(receiver, name, positional, keywords, call), None
        return dataflow.call_method(method, positional), None

    def _adapted(
        self, layer: LayerObject, positional: list[Value], keywords: dict[str, Value]
    ) -> None:
        """``vectorizer.adapt(texts)``: a TextVectorization that learns its vocabulary from a
        corpus keeps its ``max_tokens`` most frequent tokens, so its ids reach max_tokens - 1
        on any corpus that has that many (one given by ``vocabulary=`` may be smaller)."""
        spec = layer.spec
        call = spec.call
        if spec.class_name != "TextVectorization" or call is None or call.has_star_args:
            return
        if call.kwarg("vocabulary") is not None or (not positional and not keywords):
            return
        tokens = call.argument("max_tokens", 0)
        mode = call.argument("output_mode", 4)
        if mode is not None and mode.value != Known("int"):
            return
        limit = (
            tokens.value.value if tokens is not None and isinstance(tokens.value, Known) else None
        )
        if isinstance(limit, int) and not isinstance(limit, bool) and limit > 0:
            count = Count(limit, what=f"TextVectorization(max_tokens={limit})")
            layer.spec = replace(spec, vocabulary=count)

    def _array_method(
        self,
        array: Data,
        name: str,
        positional: list[Value],
        keywords: dict[str, Value],
        call: Call,
    ) -> Value:
        info = array.info
        if name in ("to_numpy", "drop", "copy", "astype", "reshape", "toarray", "todense"):
            if name == "drop" and not _drops_columns(positional, keywords):
                return Data(DataInfo(span=info.span))
            return array
        if info.prediction is not None and name in (
            "argmax",
            "round",
            "ravel",
            "flatten",
            "squeeze",
        ):
            return Data(_predicted(info))
        return dataflow.call_method(Method(array, name), positional)

    def _encoded(self, qualname: str, positional: list[Value]) -> Value:
        """One-hot rows of class ids: one column per class, so the class count carries over
        from integer labels whose count is known (as for ``to_categorical``). LabelBinarizer
        gives a single 0/1 column for two classes (scikit-learn's documented behaviour)."""
        source = _info(positional[0]) if positional else DataInfo()
        classes = source.num_classes if source.encoding == Known("integer") else UNKNOWN
        name = qualname.rsplit(".", 1)[1]
        if name == "LabelBinarizer":
            if classes == Known(2):
                encoding: Value = Known("binary")
            elif isinstance(classes, Known) and classes.value > 2:
                encoding = Known("onehot")
            else:
                return Data(DataInfo(lineage=source.lineage))
        else:
            encoding = Known("onehot")
        info = DataInfo(
            encoding=encoding,
            num_classes=classes if encoding == Known("onehot") else UNKNOWN,
            lineage=source.lineage,
            origin=f"{name}().fit_transform" if encoding == Known("onehot") else None,
        )
        return Data(info)

    def _fitted_method(
        self, receiver: Instance, state: _Fitted, name: str, positional: list[Value], call: Call
    ) -> tuple[Value, Instance | None]:
        what = receiver.qualname.rsplit(".", 1)[1]
        data = positional[0] if positional else None
        info = _info(data)
        lineage = info.lineage
        if name == "fit":
            return receiver, replace(receiver, state=_Fitted(lineage, call.span, True))
        if name not in ("fit_transform", "transform") or data is None:
            return UNKNOWN, None
        replaced = None
        if name == "fit_transform":
            if lineage is None:
                lineage = _fresh("the rows it was fitted on", call.span)
            state = _Fitted(lineage, call.span, True)
            replaced = replace(receiver, state=state)
        elif lineage is None:
            lineage = _fresh("transformed rows", call.span)
        done = Preprocessing(what, state.fitted_on, state.span) if state.fitted else None
        steps = info.preprocessing + ((done,) if done else ())
        if receiver.qualname in _SCALES:
            # A scaler keeps what the values are (continuous targets stay continuous) and
            # gives them its scale and range, as dataflow says.
            scaled: Value = Known(_SCALES[receiver.qualname])
            if scaled == Known("unit") and receiver.value_range not in (UNKNOWN, Known((0.0, 1.0))):
                scaled = UNKNOWN  # MinMaxScaler(feature_range=(-1, 1)) is not [0, 1]
            result = replace(info, scaled=scaled, value_range=receiver.value_range)
        else:  # an imputer, PCA...: other values
            result = DataInfo(dataset=info.dataset, span=info.span)
        return Data(replace(result, lineage=lineage, preprocessing=steps)), replaced

    def _tokenizer_method(
        self, receiver: Instance, state: _Tokenizer, name: str, positional: list[Value], call: Call
    ) -> tuple[Value, Instance | None]:
        texts = positional[0] if positional else None
        info = _info(texts)
        if name == "fit_on_texts":
            fitted = _Fitted(info.lineage, call.span, True)
            return Known(None), replace(receiver, state=replace(state, fitted=fitted))
        if name != "texts_to_sequences" or texts is None:
            return UNKNOWN, None
        words = state.num_words
        ids: Count | None = None
        if words == Known(None):
            ids = Count(None, state.base, 1, "len(word_index) + 1")
        elif isinstance(words, Known) and isinstance(words.value, int) and words.value > 0:
            ids = Count(words.value, what=f"Tokenizer(num_words={words.value})")
        fitted = state.fitted
        done = Preprocessing("Tokenizer", fitted.fitted_on, fitted.span) if fitted.fitted else None
        lineage = info.lineage or _fresh("the texts", call.span)
        return (
            Data(DataInfo(lineage=lineage, ids_below=ids, preprocessing=(done,) if done else ())),
            None,
        )

    def _dataset_method(
        self, flow: Flow, name: str, positional: list[Value], keywords: dict[str, Value], call: Call
    ) -> Value:
        pipeline = flow.pipeline
        if pipeline.made_by.startswith("flow"):
            return UNKNOWN  # a Keras iterator: next(), reset()... give nothing to follow
        if name in _DATASET_KEEP:
            return flow
        if name == "shuffle":
            reshuffle = _arg(positional, keywords, "reshuffle_each_iteration", 2)
            if reshuffle is None or reshuffle == Known(True):
                return replace(
                    flow, pipeline=replace(pipeline, shuffles=Known(True)), order=UNKNOWN
                )
            if reshuffle == Known(False):
                # One fixed permutation: every pass yields the same order.
                return replace(flow, order=Known(object()))
            return replace(flow, pipeline=replace(pipeline, shuffles=UNKNOWN), order=UNKNOWN)
        if name == "cache":
            # A cache after a shuffle freezes the order only once a pass has completed
            # (measured): what a later pass yields is not known.
            if pipeline.shuffles != Known(False):
                return replace(flow, pipeline=replace(pipeline, shuffles=UNKNOWN), order=UNKNOWN)
            return flow
        if name in ("take", "skip"):
            return self._part(flow, name, positional, call)
        if name == "map" and positional:
            return self._map(flow, positional[0])
        if name == "filter":
            lineage = _fresh("a filtered dataset", call.span, flow.x.lineage)
            return replace(
                flow,
                x=replace(flow.x, lineage=lineage),
                y=replace(flow.y, lineage=lineage) if flow.y is not None else None,
            )
        return UNKNOWN

    def _part(self, flow: Flow, name: str, positional: list[Value], call: Call) -> Flow:
        """``take(n)`` / ``skip(n)``: a part of the samples; after a shuffle that reshuffles
        every pass, a different part on every pass (measured)."""
        pipeline = flow.pipeline
        count = positional[0] if positional else UNKNOWN
        parent = flow.x.lineage
        reshuffled = pipeline.shuffles == Known(True)
        if (
            parent is not None
            and isinstance(count, Known)
            and not reshuffled
            and flow.order is not UNKNOWN
        ):
            lineage: Lineage | None = Lineage(
                (name, parent.key, count.value), f"{name}({count.value})", call.span, parent
            )
        else:
            lineage = _fresh(f"{name}(...)", call.span, parent)
        if reshuffled:
            pipeline = replace(pipeline, resplit=call.span)
        return Flow(
            pipeline,
            replace(flow.x, lineage=lineage),
            replace(flow.y, lineage=lineage) if flow.y is not None else None,
            flow.order,
        )

    def _map(self, flow: Flow, function: Value) -> Flow:
        """``map(f)``: f is applied to each element; it keeps the samples and their order,
        and the facts of what f returns (a ``lambda`` or ``def`` is followed)."""
        arguments: list[Value] = [Data(flow.x)]
        if flow.y is not None:
            arguments.append(Data(flow.y))
        result = self.apply(function, arguments)
        lineage = flow.x.lineage
        augments = flow.pipeline.augments
        if isinstance(function, LayerObject) and function.spec.class_name.startswith("Random"):
            augments = Known(True)
        x: DataInfo
        y: DataInfo | None
        if isinstance(result, Seq) and len(result.items) == 2 and flow.y is not None:
            x, y = _info(result.items[0]), _info(result.items[1])
        elif isinstance(result, Data) and flow.y is None:
            x, y = result.info, None
        else:
            x, y = DataInfo(), (DataInfo() if flow.y is not None else None)
            augments = UNKNOWN if augments != Known(True) else augments
        keep = dict(lineage=lineage, pipeline=None)
        return Flow(
            replace(flow.pipeline, augments=augments),
            replace(x, **keep),
            replace(y, **keep) if y is not None else None,
            flow.order,
        )

    def _oversampled(self, qualname: str, positional: list[Value], call: Call) -> Value:
        what = f"{qualname.rsplit('.', 1)[1]}().fit_resample"
        parent = _info(positional[0]).lineage if positional else None
        lineage = _fresh(f"the rows of {what}", call.span, parent, duplicated=what)
        items = tuple(
            Data(replace(_info(v), lineage=lineage, span=call.span)) for v in positional[:2]
        )
        return Seq(items, True) if len(items) == 2 else UNKNOWN

    def _resample(
        self, qualname: str, positional: list[Value], keywords: dict[str, Value], call: Call
    ) -> Value:
        if not positional:
            return UNKNOWN
        parent = _info(positional[0]).lineage
        if qualname == "sklearn.utils.shuffle":
            # The same samples in another order.
            items = tuple(
                Data(replace(_info(v), order=UNKNOWN, label_order=UNKNOWN)) for v in positional
            )
        else:
            with_replacement = keywords.get("replace", Known(True))
            if with_replacement == Known(True):
                what = "resample(replace=True)"
                lineage = _fresh(f"the rows of {what}", call.span, parent, duplicated=what)
            else:
                lineage = _fresh("resampled rows", call.span, parent)
            items = tuple(
                Data(replace(_info(v), lineage=lineage, order=UNKNOWN, label_order=UNKNOWN))
                for v in positional
            )
        return items[0] if len(items) == 1 else Seq(items, False)

    def _split(self, positional: list[Value], keywords: dict[str, Value], call: Call) -> Value:
        """``train_test_split``: two parts with samples of their own, taken from the arrays'
        samples; a part keeps the scale it had (``untouched`` when it was not known)."""
        if not positional or call.has_star_args:
            return UNKNOWN
        parent = next(
            (v.info.lineage for v in positional if isinstance(v, Data) and v.info.lineage), None
        ) or _fresh("the arrays split", call.span)
        parts = [
            _fresh(f"the {name} part of train_test_split", call.span, parent)
            for name in ("training", "test")
        ]
        # Rows grouped by label stay so only when the split does not shuffle.
        shuffled = keywords.get("shuffle") != Known(False)
        split: list[Value] = []
        for array in positional:
            for lineage in parts:
                if isinstance(array, Data):
                    info = array.info
                    scaled = info.scaled if isinstance(info.scaled, Known) else _UNTOUCHED
                    label_order = UNKNOWN if shuffled else info.label_order
                    kept = replace(info, lineage=lineage, scaled=scaled, label_order=label_order)
                    split.append(Data(replace(kept, order=UNKNOWN)))
                else:
                    split.append(Data(DataInfo(scaled=_UNTOUCHED, lineage=lineage)))
        return Seq(tuple(split), True)

    def _one_hot(
        self, qualname: str, positional: list[Value], keywords: dict[str, Value], call: Call
    ) -> Value:
        name, index = _ONE_HOT[qualname]
        depth = _arg(positional, keywords, name, index)
        classes = depth if isinstance(depth, Known) and isinstance(depth.value, int) else UNKNOWN
        source = _info(positional[0]) if positional else DataInfo()
        origin = "tf.one_hot" if qualname.startswith("tensorflow") else "keras.ops.one_hot"
        return Data(
            DataInfo(
                encoding=Known("onehot"),
                num_classes=classes,
                lineage=source.lineage,
                origin=origin,
                span=call.span,
            )
        )

    # ------------------------------------------------------------------ attributes
    def attribute(self, base: Data | Instance | Flow, attr: str) -> Value:
        """``gen.classes``, ``tokenizer.word_index``, ``df.values``; a method otherwise."""
        if isinstance(base, Flow):
            keras_iterator = base.pipeline.made_by in ("flow_from_directory", "flow_from_dataframe")
            if attr in ("classes", "labels") and keras_iterator and base.x.lineage is not None:
                lineage = base.x.lineage
                return Data(
                    DataInfo(
                        encoding=Known("integer"),
                        lineage=lineage,
                        order=Known(("files", lineage.key)),
                        origin=f"{base.pipeline.made_by}(...).{attr}",
                    )
                )
            if attr in ("classes", "labels", "class_indices", "filenames", "samples", "n"):
                return UNKNOWN
        elif isinstance(base, Instance) and isinstance(base.state, _Tokenizer):
            if attr in ("word_index", "word_counts", "index_word"):
                return Vocabulary(base.state.base, f"tokenizer.{attr}")
        elif isinstance(base, Data) and attr in ("values", "iloc", "loc", "T"):
            return base if attr != "T" else Data(DataInfo())
        return Method(base, attr)

    # ------------------------------------------------------------------ expressions
    def subscript(
        self, array: Data, result: Data, elements: Sequence[cst.SubscriptElement]
    ) -> Data:
        """The lineage of ``a[...]``: columns (``df["text"]``, ``x[:, 0]``) keep the samples;
        a row range is rows of them (equal for the same literal range); any other selection
        is new rows taken from them."""
        lineage = array.info.lineage
        if lineage is None:
            return result
        rows = elements[0].slice
        if isinstance(rows, cst.Index) and isinstance(rows.value, (cst.SimpleString, cst.List)):
            # A dataframe's columns, or an item of an .npz file or a dict: the same key of the
            # same container is the same value; two keys are not related (``data["x_train"]``
            # and ``data["x_test"]`` of one file are different samples).
            key = ("item", lineage.key, cst.Module([]).code_for_node(rows.value))
            item = Lineage(key, f"{lineage.what}[...]", lineage.span)
            return Data(replace(result.info, lineage=item))
        if _all_rows(rows) or (isinstance(rows, cst.Index) and _is_new_axis(rows.value)):
            return Data(replace(result.info, lineage=lineage))
        bounds = _literal_range(rows)
        if bounds is not None:
            child = Lineage(
                ("rows", lineage.key, bounds), "rows of " + (lineage.what or "it"), None, lineage
            )
        else:
            child = _fresh("rows of " + (lineage.what or "it"), None, lineage)
        return Data(replace(result.info, lineage=child, order=UNKNOWN))

    def binary(self, op: Callable[[Any, Any], Any], left: Value, right: Value) -> Value | None:
        """``len(word_index) + 1``, ``base + "/train"`` paths, ``x / 127.5 - 1``; else None."""
        if isinstance(left, Size) and isinstance(right, Known) and isinstance(right.value, int):
            if op is operator.add:
                return _shifted(left.count, right.value)
            if op is operator.sub:
                return _shifted(left.count, -right.value)
        if isinstance(right, Size) and op is operator.add and isinstance(left, Known):
            return _shifted(right.count, left.value) if isinstance(left.value, int) else None
        if (
            op is operator.truediv
            and isinstance(left, Known)
            and isinstance(right, Known)
            and isinstance(left.value, str)
            and isinstance(right.value, str)
        ):
            return Known(posixpath.join(left.value, right.value))  # pathlib's ``/``
        if isinstance(left, Data):
            scaled = left.info.scaled
            if op is operator.truediv and scaled == Known("raw_0_255") and _is(right, 127.5):
                return Data(replace(left.info, scaled=Known("half_255")))
            if op is operator.sub and scaled == Known("half_255") and _is(right, 1):
                return Data(replace(left.info, scaled=Known("minus_one_one")))
        return None

    def negated(self, array: Data) -> Value:
        """``-np.ones(n)``: -1 labels (a WGAN's "real" targets, the other side's being +1)."""
        info = array.info
        if info.origin == "numpy.ones":
            return Data(replace(info, encoding=Known("plus_minus_one"), origin=None))
        return Data(DataInfo(lineage=info.lineage))

    def length(self, value: Value) -> Value:
        """``len(tokenizer.word_index)``: the vocabulary's size, relative to it."""
        if isinstance(value, Vocabulary):
            return Size(Count(None, value.base, 0, f"len({value.what})"))
        return UNKNOWN

    def compare(
        self, equal: bool, left: Value, right: Value, span: Span, named: Callable[[], str]
    ) -> Value:
        """``predictions == labels`` is a score; ``predictions > 0.5`` still predictions."""
        if isinstance(left, Data) and isinstance(right, Data):
            if equal:
                self._record("==", left.info, right.info, span, named)
            return UNKNOWN
        if isinstance(left, Data) and left.info.prediction is not None and not equal:
            return Data(_predicted(left.info))
        return UNKNOWN

    def apply_layer(self, layer: LayerSpec, value: Value) -> Value:
        """A layer called on data rather than a symbolic tensor (``Rescaling(1/255)(x)`` in a
        ``map``, ``vectorizer(texts)``)."""
        info = _info(value)
        call = layer.call
        if layer.class_name == "Rescaling" and call is not None:
            scale = call.argument("scale", 0)
            offset = call.argument("offset", 1)
            no_offset = offset is None or _is(offset.value, 0)
            scaled: Value = UNKNOWN
            if info.scaled == Known("raw_0_255") and scale is not None:
                if _is(scale.value, _ONE_255) and no_offset:
                    scaled = Known("unit")
                elif _is(scale.value, _ONE_127) and offset is not None and _is(offset.value, -1):
                    scaled = Known("minus_one_one")
            return Data(DataInfo(scaled=scaled, lineage=info.lineage))
        if layer.class_name == "TextVectorization":
            return Data(DataInfo(lineage=info.lineage, ids_below=layer.vocabulary))
        return Data(DataInfo(lineage=info.lineage)) if info.lineage is not None else UNKNOWN

    def collected(
        self, iterable: Value, target: cst.BaseAssignTargetExpression, element: cst.BaseExpression
    ) -> Value:
        """``[y for x, y in dataset]``: the labels (or inputs) of one pass over a dataset, in
        the order that pass yields them."""
        if not isinstance(iterable, Flow) or not isinstance(target, cst.Tuple):
            return UNKNOWN
        names = [e.value.value if isinstance(e.value, cst.Name) else None for e in target.elements]
        if len(names) != 2 or iterable.y is None:
            return UNKNOWN
        if (
            isinstance(element, cst.Call)
            and isinstance(element.func, cst.Attribute)
            and element.func.attr.value == "numpy"
        ):
            element = element.func.value
        if not isinstance(element, cst.Name) or element.value not in names:
            return UNKNOWN
        info = iterable.x if element.value == names[0] else iterable.y
        return Data(replace(info, order=self._pass_order(iterable), pipeline=None, span=None))

    # ------------------------------------------------------------------ runs
    def run_input(self, value: Value | None) -> tuple[DataInfo, DataInfo | None]:
        """The facts of what a run is given (an array, or a generator's inputs and labels)."""
        if isinstance(value, Flow):
            x = replace(value.x, pipeline=value.pipeline)
            y = replace(value.y, pipeline=value.pipeline) if value.y is not None else DataInfo()
            return x, y
        return _info(value), None

    def predicted(self, run: RunSpec, x: Value | None, earlier: Sequence[object]) -> Value:
        """What ``model.predict(x)`` returns: rows of x in the order that pass yields them."""
        lineage = run.x.lineage
        if lineage is None:
            return UNKNOWN
        trained = any(
            isinstance(e, RunSpec)
            and e.kind == "train"
            and e.x.lineage is not None
            and lineage.within(e.x.lineage)
            for e in earlier
        )
        order = self._pass_order(x) if isinstance(x, Flow) else UNKNOWN
        prediction = Prediction(run.span, trained, run.x.pipeline)
        return Data(DataInfo(lineage=lineage, order=order, prediction=prediction, span=run.span))

    def _pass_order(self, flow: Flow) -> Value:
        if flow.order is not UNKNOWN:
            return flow.order
        if flow.pipeline.shuffles == Known(True):
            return Known(object())  # this pass's own random order
        return UNKNOWN

    def _score(
        self,
        function: str,
        positional: list[Value],
        keywords: dict[str, Value],
        span: Span,
        named: Callable[[], str],
    ) -> None:
        truth = _arg(positional, keywords, "y_true", 0) or keywords.get("labels")
        guess = _arg(positional, keywords, "y_pred", 1) or keywords.get("predictions")
        if isinstance(truth, Data) and isinstance(guess, Data):
            self._record(function, truth.info, guess.info, span, named)

    def _record(
        self, function: str, a: DataInfo, b: DataInfo, span: Span, named: Callable[[], str]
    ) -> None:
        if self.stopped or (a.prediction is None) == (b.prediction is None):
            return
        predictions, labels = (a, b) if a.prediction is not None else (b, a)
        self.scores.append(Score(span, function, predictions, labels, named()))

    def embedding_rows(self, positional: list[Value], keywords: dict[str, Value]) -> Count | None:
        """An Embedding's ``input_dim``: exact, or relative to a vocabulary."""
        value = _arg(positional, keywords, "input_dim", 0)
        if isinstance(value, Size):
            return value.count
        number = value.value if isinstance(value, Known) else None
        if isinstance(number, int) and not isinstance(number, bool):
            return Count(number, what=str(number))
        return None


# The "labels" of class_mode='input': the images themselves.
_INPUT = DataInfo(origin="class_mode='input'")


def _labels(
    mode: Value, table: dict[str, str], count: Value, made_by: str, argument: str, default: str
) -> DataInfo | None:
    """The labels a class_mode / label_mode gives; None for no labels."""
    if mode == Known(None):
        return None
    if mode == Known("input"):
        return _INPUT
    if not isinstance(mode, Known) or mode.value not in table:
        return DataInfo()
    written = mode.value
    if written == default:
        origin = f"{made_by}'s default {argument}='{written}'"
    else:
        origin = f"{made_by}({argument}='{written}')"
    encoding = table[written]
    classes = count if encoding != "binary" else UNKNOWN
    return DataInfo(encoding=Known(encoding), num_classes=classes, origin=origin)


def _source_lineage(
    made_by: str,
    reads: Value,
    base: Lineage | None,
    subset: Value,
    validation_split: Value,
    span: Span,
    seed: Value | None = None,
) -> Lineage | None:
    """The samples a generator yields: the files of a directory (equal for two generators
    reading the same one with the same subset), or the rows of the arrays / dataframe it
    flows from."""
    if not isinstance(subset, Known):
        return None
    if isinstance(reads, Known):
        if subset.value is None:
            return Lineage(("directory", reads.value), f"the images of '{reads.value}'", span)
        # The split of image_dataset_from_directory depends on its seed (measured: two seeds
        # give overlapping subsets); ImageDataGenerator's split is by file order.
        if not isinstance(validation_split, Known) or (
            seed is not None and not isinstance(seed, Known)
        ):
            return None
        key = ("directory", reads.value, subset.value, validation_split.value, _plain(seed))
        parent = Lineage(("directory", reads.value), f"the images of '{reads.value}'", span)
        return Lineage(key, f"the {subset.value} subset of '{reads.value}'", span, parent)
    if base is None:
        return None
    if subset.value is None:
        return base
    if not isinstance(validation_split, Known):
        return None
    key = ("subset", base.key, subset.value, validation_split.value)
    return Lineage(key, f"the {subset.value} subset of {base.what}", span, base)


def _predicted(info: DataInfo) -> DataInfo:
    """Only what a transformation of predictions keeps: their rows, order and origin."""
    return DataInfo(lineage=info.lineage, order=info.order, prediction=info.prediction)


def _plain(value: Value) -> object:
    return value.value if isinstance(value, Known) else None


def _bool(value: Value) -> Value:
    if isinstance(value, Known) and isinstance(value.value, bool):
        return value
    return UNKNOWN


def _shifted(count: Count, by: int) -> Size:
    offset = count.offset + by
    what = count.what.split(" + ")[0] if count.base is not None else count.what
    if count.base is not None and offset:
        what = f"{what} + {offset}" if offset > 0 else f"{what} - {-offset}"
    value = count.value + by if count.value is not None else None
    return Size(Count(value, count.base, offset, what))


def _drops_columns(positional: list[Value], keywords: dict[str, Value]) -> bool:
    """``df.drop("label", axis=1)`` / ``df.drop(columns=[...])``: the same rows."""
    if "columns" in keywords:
        return True
    axis = keywords.get("axis", positional[1] if len(positional) > 1 else None)
    return axis in (Known(1), Known("columns"))


def _all_rows(index: cst.BaseSlice) -> bool:
    return (
        isinstance(index, cst.Slice)
        and index.lower is None
        and index.upper is None
        and index.step is None
    )


def _is_new_axis(node: cst.BaseExpression) -> bool:
    if isinstance(node, cst.Ellipsis):
        return True
    if isinstance(node, cst.Name):
        return node.value == "None"
    return isinstance(node, cst.Attribute) and node.attr.value == "newaxis"


def _literal_int(node: cst.BaseExpression | None) -> int | bool | None:
    """An integer written as a literal (None when absent); False when not a literal."""
    if node is None:
        return None
    if isinstance(node, cst.Integer):
        return int(node.value.replace("_", ""), 0)
    if (
        isinstance(node, cst.UnaryOperation)
        and isinstance(node.operator, cst.Minus)
        and isinstance(node.expression, cst.Integer)
    ):
        return -int(node.expression.value.replace("_", ""), 0)
    return False


def _literal_range(index: cst.BaseSlice) -> tuple[object, object, object] | None:
    if not isinstance(index, cst.Slice):
        return None
    bounds = tuple(_literal_int(n) for n in (index.lower, index.upper, index.step))
    if any(b is False for b in bounds):
        return None
    return bounds  # type: ignore[return-value]
